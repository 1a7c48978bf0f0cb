using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using SandboxPS.Core.Providers.Kit;
using SandboxPS.Protocol;

namespace SandboxPS.Core.Providers.Process;

/// <summary>
/// The <c>process</c> provider: runs <c>sandboxps-server</c> as a local process bound to 127.0.0.1 on a
/// free port, in its own session (it outlives the program that made it), with its own working directory
/// and a per-sandbox token. <b>It isolates nothing</b>: commands run as the current user with full access
/// to the machine. State lives in one JSON file per sandbox under <see cref="StateDirectory"/>/process
/// (directory 0700, files 0600), so another process finds and drives the sandbox by id or name.
/// </summary>
public sealed partial class ProcessSandboxProvider : ISandboxProvider, ILogSource, ISandboxTokenSource
{
    /// <summary>The provider name.</summary>
    public const string ProviderName = "process";

    /// <summary>
    /// Time to live when the spec sets none. A process sandbox holds an open port and a shell as the
    /// current user; one hour covers an interactive session or a CI job while making sure a forgotten
    /// sandbox (its creator killed) cannot live on indefinitely.
    /// </summary>
    public static readonly TimeSpan DefaultTimeToLive = TimeSpan.FromHours(1);

    /// <summary>Provider options (<c>SandboxSpec.ProviderOptions</c>) this provider knows.</summary>
    public static IReadOnlyCollection<string> KnownOptions { get; } = ["serverPath"];

    /// <summary>What this provider accepts in a spec (<see cref="SpecValidator"/>): a plain local process, so no image, runtime or limits.</summary>
    public static SandboxSpecRules Rules { get; } = new()
    {
        Provider = ProviderName,
        KnownOptions = KnownOptions,
        Unsupported =
        [
            nameof(SandboxSpec.Image), nameof(SandboxSpec.Runtime), nameof(SandboxSpec.Cpus), nameof(SandboxSpec.MemoryBytes),
            nameof(SandboxSpec.PidsLimit), nameof(SandboxSpec.NetworkMode), nameof(SandboxSpec.ReadOnlyRootFilesystem), nameof(SandboxSpec.User),
        ],
        UnsupportedReason = "it runs the server as a plain local process, with no isolation and no resource limits",
    };

    // The launcher runs the server, records its exit code, and then is the sandbox's own reaper: the
    // ended sandbox stays listed until its expiry plus ManagedSandbox.LeftoverGrace, then the launcher
    // deletes its record and directory, so nothing is left with no further command (creator killed).
    private const string LaunchScript =
        "log=$1; ec=$2; rec=$3; dir=$4; work=$5; until=$6; shift 6\n" +
        "mask=$(umask); umask 077; mkdir -p \"$dir\" && : >>\"$log\" || exit 125\n" +
        "[ -z \"$work\" ] || { mkdir -p \"$work\" && cd \"$work\"; } || exit 125\n" +
        "umask \"$mask\"\n" +
        "exec >>\"$log\" 2>&1 </dev/null\n" +
        "\"$@\"\n" +
        "rc=$?\n" +
        "echo $rc >\"$ec.tmp\" && mv -f \"$ec.tmp\" \"$ec\"\n" +
        "left=$((until - $(date +%s)))\n" +
        "[ \"$left\" -gt 0 ] && sleep \"$left\"\n" +
        "rm -f \"$rec\"; rm -rf \"$dir\"\n" +
        "exit $rc\n";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private static readonly string? SetsidPath = new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists);

    // Launchers this process started: kept referenced so the runtime reaps them when they exit.
    private static readonly ConcurrentDictionary<int, System.Diagnostics.Process> Launched = new();

    /// <summary>Creates the provider on <paramref name="stateDirectory"/> (default: <see cref="SandboxStateDirectory.Resolve"/>).</summary>
    public ProcessSandboxProvider(string? stateDirectory = null)
    {
        StateDirectory = Path.GetFullPath(stateDirectory ?? SandboxStateDirectory.Resolve());
        RecordsDirectory = Path.Combine(StateDirectory, ProviderName);
    }

    /// <inheritdoc/>
    public string Name => ProviderName;

    /// <summary>The state directory (its <c>process</c> subdirectory holds the records).</summary>
    public string StateDirectory { get; }

    internal string RecordsDirectory { get; }

    /// <inheritdoc/>
    public async Task<Sandbox> CreateAsync(SandboxSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        SpecValidator.Validate(spec, Rules, SpecNames.Cli);

        string serverPath = spec.ProviderOptions.TryGetValue("serverPath", out var sp) && !string.IsNullOrWhiteSpace(sp)
            ? Path.GetFullPath(sp)
            : ServerBinary.Locate();
        if (!File.Exists(serverPath))
        {
            throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidProviderOption,
                $"serverPath: '{serverPath}' does not exist.", "serverPath");
        }

        var id = SandboxLabelBuilder.NewId();
        var name = spec.Name ?? SandboxLabelBuilder.DefaultName(id);
        var createdAt = DateTimeOffset.UtcNow;
        var ttl = spec.TimeToLive ?? DefaultTimeToLive;
        var expiresAt = createdAt + ttl;
        var sandboxDir = Path.Combine(RecordsDirectory, id);
        var ownsWorkDir = string.IsNullOrEmpty(spec.WorkingDirectory);
        var workDir = ownsWorkDir ? Path.Combine(sandboxDir, "work") : Path.GetFullPath(spec.WorkingDirectory!);
        var record = new ProcessSandboxRecord
        {
            Id = id,
            Name = name,
            Token = ServerToken.New(),
            Labels = ManagedSandbox.Labels(id, name, createdAt, ttl, spec),
            CreatedAt = createdAt,
            ExpiresAt = expiresAt,
            WorkDir = workDir,
            OwnsWorkDir = ownsWorkDir,
            SandboxDir = sandboxDir,
            LogPath = Path.Combine(sandboxDir, "server.log"),
            ExitCodePath = Path.Combine(sandboxDir, "exit-code"),
            ServerPath = serverPath,
        };

        // Under the lock: reserve the name, start the launcher, write the record. The launcher makes the
        // sandbox's directory itself and removes it after the TTL, so a creator killed at any point leaves
        // nothing behind: before the launch nothing exists; after it the launcher is the reaper.
        if (!ownsWorkDir)
        {
            Directory.CreateDirectory(workDir);
        }
        await WithLockAsync(() =>
        {
            var taken = ReadAllRecords().FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.Ordinal));
            if (taken is not null)
            {
                throw new SandboxException(SandboxErrorKind.AlreadyExists, SandboxErrorIds.SandboxNameInUse,
                    $"A process sandbox named '{name}' exists already (id {taken.Id}).", name)
                {
                    RecommendedAction = $"Pick another --name, or remove the old one: sandboxps rm {name}",
                };
            }
            record = record with { LauncherPid = Launch(record, spec, ttl) };
            WriteRecord(record);
        }, cancellationToken).ConfigureAwait(false);

        var undo = new CreateUndo(ProviderName, name);
        undo.Add("record, directory and processes", ct => RemoveRecordAsync(ReadRecord(id) ?? record, ct));
        try
        {
            record = await WaitListeningAsync(record, cancellationToken).ConfigureAwait(false);
            WriteRecord(record);
        }
        catch (Exception original)
        {
            await undo.RollBackAsync().ConfigureAwait(false);
            if (CreateUndo.Surfaces(original))
            {
                throw;
            }
            throw undo.Wrap(original, SandboxErrorKind.ProviderUnavailable, SandboxErrorIds.SandboxStartFailed);
        }
        return ToSandbox(record, SandboxState.Running);
    }

    /// <summary>Starts the launcher (its own session: it outlives the creator); returns its pid.</summary>
    private int Launch(ProcessSandboxRecord record, SandboxSpec spec, TimeSpan ttl)
    {
        var psi = new ProcessStartInfo
        {
            FileName = SetsidPath ?? "/bin/sh",
            UseShellExecute = false,
            // An owned working directory is made by the launcher itself (see LaunchScript).
            WorkingDirectory = record.OwnsWorkDir ? RecordsDirectory : record.WorkDir,
        };
        if (SetsidPath is not null)
        {
            psi.ArgumentList.Add("/bin/sh");
        }
        var launch = new ServerLaunchOptions
        {
            Listen = ServerLaunchOptions.ListenOn("127.0.0.1", 0),
            WorkDir = record.WorkDir,
            Ttl = ttl,
            IdleTimeout = spec.IdleTimeout,
            MaxSessions = spec.MaxSessions,
        };
        foreach (var arg in new[]
                 {
                     "-c", LaunchScript, "sandboxps-launch", record.LogPath, record.ExitCodePath, RecordPath(record.Id), record.SandboxDir,
                     record.OwnsWorkDir ? record.WorkDir : "",
                     (record.ExpiresAt ?? record.CreatedAt + ttl).Add(ManagedSandbox.LeftoverGrace).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                     record.ServerPath,
                 }.Concat(launch.ToArguments()))
        {
            psi.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in spec.Environment)
        {
            psi.Environment[key] = value;
        }
        psi.Environment[ProtocolConstants.TokenEnvironmentVariable] = record.Token;
        psi.Environment[SandboxStateDirectory.Variable] = StateDirectory;
        psi.Environment["SANDBOXPS_SANDBOX_ID"] = record.Id;
        psi.Environment["SANDBOXPS_SANDBOX_NAME"] = record.Name;

        var launcher = System.Diagnostics.Process.Start(psi)
            ?? throw new SandboxException(SandboxErrorKind.ProviderUnavailable, SandboxErrorIds.SandboxStartFailed, "The launcher did not start.", record.Name);
        var launcherPid = launcher.Id;
        Launched[launcherPid] = launcher;
        _ = launcher.WaitForExitAsync(CancellationToken.None).ContinueWith(
            _ => { Launched.TryRemove(launcherPid, out var _); launcher.Dispose(); }, TaskScheduler.Default);
        return launcherPid;
    }

    /// <summary>Waits for the server's listening line in its log (the endpoint and pid), failing fast when the launcher ends.</summary>
    private static async Task<ProcessSandboxRecord> WaitListeningAsync(ProcessSandboxRecord record, CancellationToken ct)
    {
        var launcherPid = record.LauncherPid;
        // The server prints {"listening":"http://127.0.0.1:PORT","pid":N} first; it lands in the log.
        var deadline = Stopwatch.StartNew();
        int delay = 2;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (TryReadListening(record.LogPath) is { } listening)
            {
                return record with { Endpoint = listening.Listening, ServerPid = listening.Pid };
            }
            // The launcher outlives its server (it is the sandbox's reaper): the exit-code file says the server ended.
            if (!ProcessTree.IsAlive(launcherPid) || ReadExitCode(record.ExitCodePath) is not null)
            {
                // Read once more: the line may have landed just before the exit.
                if (TryReadListening(record.LogPath) is { } late)
                {
                    return record with { Endpoint = late.Listening, ServerPid = late.Pid };
                }
                int? code = ReadExitCode(record.ExitCodePath);
                var lines = TailLines(record.LogPath, 20);
                throw new SandboxNotRunningException(record.Name,
                    $"The sandbox server exited while starting (exit code {code?.ToString(CultureInfo.InvariantCulture) ?? "unknown"})." +
                    (lines.Count > 0 ? " Last output:" + System.Environment.NewLine + string.Join(System.Environment.NewLine, lines) : ""),
                    code, lines);
            }
            if (deadline.Elapsed > StartTimeout)
            {
                var lines = TailLines(record.LogPath, 20);
                throw new SandboxException(SandboxErrorKind.Timeout, SandboxErrorIds.SandboxStartFailed,
                    $"The sandbox server did not report its port within {DurationParser.Format(StartTimeout)}." +
                    (lines.Count > 0 ? " Last output: " + string.Join(" | ", lines) : ""), record.Name);
            }
            await Task.Delay(delay, ct).ConfigureAwait(false);
            delay = Math.Min(delay * 2, 25);
        }
    }

    private static (string Listening, int Pid)? TryReadListening(string logPath)
    {
        try
        {
            using var stream = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            for (int i = 0; i < 50 && reader.ReadLine() is { } line; i++)
            {
                if (ServerEndpoint.TryParseListeningLine(line, out var endpoint, out var pid))
                {
                    return (endpoint, pid);
                }
            }
        }
        catch (IOException)
        {
            // Not written completely yet: read again on the next round.
        }
        return null;
    }

    /// <inheritdoc/>
    public Task<Sandbox?> GetAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        var records = ReadAllRecords();
        var record = records.FirstOrDefault(r => r.Id == idOrName) ?? records.FirstOrDefault(r => r.Name == idOrName);
        return Task.FromResult(record is null ? null : ToSandbox(record, Probe(record).State));
    }

    /// <inheritdoc/>
    public async Task<SandboxStatus> GetStatusAsync(string id, CancellationToken cancellationToken = default)
    {
        var record = ReadRecord(id);
        if (record is null)
        {
            return new SandboxStatus(SandboxState.Gone, "No process sandbox with this id (removed).");
        }
        var status = Probe(record);
        if (status.State == SandboxState.Running && record.Endpoint is not null
            && await IsHealthyAsync(record, TimeSpan.FromSeconds(3), cancellationToken).ConfigureAwait(false))
        {
            return status with { State = SandboxState.Ready };
        }
        if (status.State is SandboxState.Failed && status.ExitCode is null && ProcessTree.IsAlive(record.LauncherPid))
        {
            // The server just died; its launcher is about to write the exit code.
            for (int i = 0; i < 20 && ReadExitCode(record.ExitCodePath) is null && ProcessTree.IsAlive(record.LauncherPid); i++)
            {
                await Task.Delay(10, cancellationToken).ConfigureAwait(false);
            }
            status = Probe(record);
        }
        return status;
    }

    /// <summary>State from the process table and the exit-code file, without touching the network.</summary>
    private static SandboxStatus Probe(ProcessSandboxRecord record)
    {
        if (record.ServerPid > 0 && ProcessTree.IsAliveAndMatches(record.ServerPid, ServerBinary.FileName, record.WorkDir))
        {
            return new SandboxStatus(SandboxState.Running);
        }
        if (record.ServerPid == 0 && ReadExitCode(record.ExitCodePath) is null && ProcessTree.IsAliveAndMatches(record.LauncherPid, record.SandboxDir))
        {
            return new SandboxStatus(SandboxState.Starting);
        }
        var code = ReadExitCode(record.ExitCodePath);
        var lines = TailLines(record.LogPath, 20);
        if (code == 0)
        {
            var why = record.ExpiresAt is { } e && e <= DateTimeOffset.UtcNow.AddSeconds(2)
                ? "The server exited at the end of its time to live."
                : "The server exited (idle timeout, shutdown or TTL).";
            return new SandboxStatus(SandboxState.Stopped, why, 0, lines);
        }
        var reason = code is { } c
            ? $"The server exited with code {c}{(c > 128 ? $" (killed by signal {c - 128})" : "")}."
            : "The server is gone and left no exit code (killed together with its launcher?).";
        return new SandboxStatus(SandboxState.Failed, reason, code, lines);
    }

    private static async Task<bool> IsHealthyAsync(ProcessSandboxRecord record, TimeSpan timeout, CancellationToken ct)
    {
        using var client = new SandboxClient(record.Endpoint!, record.Token, new SandboxClientOptions { SandboxName = record.Name, RetryTransportFailures = false });
        return await client.ProbeHealthAsync(timeout, ct).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<Sandbox> ListAsync(IReadOnlyDictionary<string, string>? labelFilter = null,
                                                     [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var records = ReadAllRecords().Where(r => SandboxLabelBuilder.Matches(r.Labels, labelFilter))
                                      .OrderBy(r => r.CreatedAt).ToList();
        var states = await Task.WhenAll(records.Select(async r =>
        {
            var status = Probe(r);
            if (status.State == SandboxState.Running && r.Endpoint is not null
                && await IsHealthyAsync(r, TimeSpan.FromSeconds(3), cancellationToken).ConfigureAwait(false))
            {
                return SandboxState.Ready;
            }
            return status.State;
        })).ConfigureAwait(false);
        for (int i = 0; i < records.Count; i++)
        {
            yield return ToSandbox(records[i], states[i]);
        }
    }

    /// <inheritdoc/>
    public async Task RemoveAsync(string id, CancellationToken cancellationToken = default)
    {
        var record = ReadRecord(id);
        if (record is null)
        {
            // Idempotent; still clear a directory a crashed create may have left.
            var dir = Path.Combine(RecordsDirectory, id);
            if (IsPlainId(id) && Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
            return;
        }
        await RemoveRecordAsync(record, cancellationToken).ConfigureAwait(false);
    }

    private async Task RemoveRecordAsync(ProcessSandboxRecord record, CancellationToken ct)
    {
        var roots = new List<int>();
        if (record.LauncherPid > 0 && ProcessTree.IsAliveAndMatches(record.LauncherPid, record.SandboxDir))
        {
            roots.Add(record.LauncherPid);
        }
        bool serverAlive = record.ServerPid > 0 && ProcessTree.IsAliveAndMatches(record.ServerPid, ServerBinary.FileName, record.WorkDir);
        if (serverAlive)
        {
            roots.Add(record.ServerPid);
        }
        if (roots.Count > 0)
        {
            // Snapshot the tree first: once the server dies its children are re-parented and harder to find.
            var tree = ProcessTree.Collect(roots);
            if (serverAlive)
            {
                ProcessTree.Terminate(record.ServerPid);   // let it end its sessions cleanly
                await ProcessTree.WaitExitAsync([record.ServerPid], TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
            }
            tree.UnionWith(ProcessTree.Collect(roots.Where(ProcessTree.IsAlive)));
            ProcessTree.KillAll(tree);
            await ProcessTree.WaitExitAsync(tree, TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
        }
        DeleteQuietly(RecordPath(record.Id));
        if (record.OwnsWorkDir || Directory.Exists(record.SandboxDir))
        {
            try
            {
                if (Directory.Exists(record.SandboxDir))
                {
                    Directory.Delete(record.SandboxDir, recursive: true);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Trace.WriteLine($"sandboxps: could not delete {record.SandboxDir}: {ex.Message}");
            }
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<string>> GetLogsAsync(string id, int tail, CancellationToken cancellationToken = default)
    {
        var record = ReadRecord(id) ?? throw NotFound(id);
        return Task.FromResult(TailLines(record.LogPath, tail));
    }

    /// <inheritdoc/>
    Task<string> ISandboxTokenSource.GetTokenAsync(string id, CancellationToken cancellationToken) =>
        Task.FromResult((ReadRecord(id) ?? throw NotFound(id)).Token);

    private Sandbox ToSandbox(ProcessSandboxRecord record, SandboxState state) =>
        new(record.Id, record.Name, ProviderName, state, record.Endpoint, image: null, runtime: null,
            record.Labels, record.CreatedAt, record.ExpiresAt)
        {
            Token = record.Token,
        };

    private static SandboxException NotFound(string id) =>
        new(SandboxErrorKind.NotFound, SandboxErrorIds.SandboxNotFound, $"No process sandbox with id '{id}'.", id)
        {
            RecommendedAction = "List sandboxes with 'sandboxps ls'.",
        };
}
