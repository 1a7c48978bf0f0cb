using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using SandboxPS.Core.Runtimes;
using SandboxPS.Protocol;

namespace SandboxPS.Core.Providers.Docker;

/// <summary>
/// Sandboxes as containers of the local (or DOCKER_HOST) Docker engine. Works with any x64 Linux
/// image: the static server is bind-mounted read-only (local engine) or copied (remote engine or
/// serverMount=copy) into the created container and is its entrypoint. The engine
/// is not contacted until the first call, so a machine without Docker only fails when Docker is used.
/// </summary>
/// <remarks>CLI: <c>sandboxps new --provider docker --image IMAGE</c>.</remarks>
public sealed partial class DockerProvider : ISandboxProvider, ILogSource, IPausable, ISandboxTokenSource, IDisposable
{
    /// <summary>Provider name.</summary>
    public const string ProviderName = "docker";

    /// <summary>Port the server listens on inside the container (published on 127.0.0.1 only).</summary>
    public const int ServerPort = 8787;

    /// <summary>Where the server binary and its socket directory live inside the container.</summary>
    public const string ContainerDirectory = "/.sandboxps";

    /// <summary>Path of the server binary inside the container.</summary>
    public const string ContainerServerPath = ContainerDirectory + "/" + ServerBinary.FileName;

    /// <summary>Directory bind-mounted from the host for the unix socket (network none or host).</summary>
    public const string ContainerRunDirectory = ContainerDirectory + "/run";

    /// <summary>Time to live when the spec gives none (see README, Docker section).</summary>
    public static readonly TimeSpan DefaultTimeToLive = TimeSpan.FromHours(4);

    /// <summary>Label holding the host directory of the unix socket, so any process can remove it.</summary>
    public const string RunDirectoryLabel = "sandboxps.docker.rundir";

    /// <summary>Environment variable that overrides the host directory of unix sockets.</summary>
    public const string RunDirectoryVariable = "SANDBOXPS_DOCKER_RUN_DIR";

    private const string SocketFileName = "server.sock";
    private const int FailureLogLines = 20;

    private static readonly string[] KnownOptions = ["init", "pull", "serverMount"];

    private readonly Lazy<DockerEngineClient> _engine;
    private readonly Lazy<RuntimeBuilder> _runtimes;
    private readonly string[] _scope;
    private readonly IReadOnlyDictionary<string, string> _scopeLabels;
    private readonly ConcurrentDictionary<string, string> _containerIds = new(StringComparer.Ordinal);
    private readonly Lazy<byte[]> _serverArchive;
    private readonly Lazy<byte[]> _serverArchiveFlat;

    /// <summary>A provider for DOCKER_HOST (or the default socket), connected on first use.</summary>
    public DockerProvider() : this(null)
    {
    }

    /// <summary>
    /// A provider for the given DOCKER_HOST value (null = the environment's), optionally scoped:
    /// with <paramref name="scopeLabels"/>, every container it creates carries them and it lists,
    /// finds and reaps only containers that carry them (one CI job, one team, one test run).
    /// </summary>
    public DockerProvider(string? dockerHost, IReadOnlyDictionary<string, string>? scopeLabels = null)
    {
        if (scopeLabels is not null)
        {
            foreach (var key in scopeLabels.Keys)
            {
                if (key.StartsWith(SandboxLabels.Prefix, StringComparison.OrdinalIgnoreCase))
                {
                    throw Invalid(nameof(scopeLabels), $"Scope label '{key}' uses the reserved prefix '{SandboxLabels.Prefix}'.");
                }
            }
        }
        _scope = scopeLabels is null ? [] : scopeLabels.Select(l => l.Key + "=" + l.Value).ToArray();
        _scopeLabels = scopeLabels ?? new Dictionary<string, string>();
        _engine = new Lazy<DockerEngineClient>(() => dockerHost is null
            ? DockerEngineClient.FromEnvironment()
            : new DockerEngineClient(DockerEndpoint.Parse(dockerHost)));
        _runtimes = new Lazy<RuntimeBuilder>(() => new RuntimeBuilder(_engine.Value));
        _serverArchive = new(() => BuildServerArchive(ServerBinaryPath ?? ServerBinary.Locate(), withDirectory: true));
        _serverArchiveFlat = new(() => BuildServerArchive(ServerBinaryPath ?? ServerBinary.Locate(), withDirectory: false));
    }

    /// <summary>
    /// The <c>sandboxps-server</c> binary to mount or copy into containers; null (the default) finds
    /// it as <see cref="ServerBinary.Locate"/> does (<c>SANDBOXPS_SERVER_PATH</c>, then beside the program).
    /// </summary>
    public string? ServerBinaryPath { get; init; }

    /// <summary>
    /// Host directory under which the socket directories of network-none sandboxes are made; null
    /// (the default) means <c>SANDBOXPS_DOCKER_RUN_DIR</c>, else <c>/run/sandboxps/docker</c> (root)
    /// or <c>$XDG_RUNTIME_DIR/sandboxps/docker</c>.
    /// </summary>
    public string? RunDirectoryRoot { get; init; }

    /// <inheritdoc />
    public string Name => ProviderName;

    internal DockerEngineClient Engine => _engine.Value;

    /// <summary>Builds runtime images; shares this provider's engine connection.</summary>
    public RuntimeBuilder Runtimes => _runtimes.Value;

    /// <summary>Options of builds that <see cref="CreateAsync"/> starts for <see cref="SandboxSpec.Runtime"/>.</summary>
    public RuntimeBuildOptions RuntimeBuildOptions { get; set; } = new();

    /// <inheritdoc />
    public void Dispose()
    {
        if (_engine.IsValueCreated)
        {
            _engine.Value.Dispose();
        }
    }

    /// <inheritdoc />
    public async Task<Sandbox> CreateAsync(SandboxSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Validate(spec);
        var image = spec.Image;
        string? runtimeName = null;
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        var user = spec.User;
        var workingDirectory = spec.WorkingDirectory;
        if (spec.Runtime is { } runtime)
        {
            var built = await Runtimes.EnsureAsync(RuntimeCatalog.Resolve(runtime), RuntimeBuildOptions, cancellationToken).ConfigureAwait(false);
            image = built.Tag;
            runtimeName = built.Config.Name;
            // The runtime's env, user and workdir are defaults (baked into built images too); the spec wins.
            foreach (var (key, value) in built.Config.Env)
            {
                environment[key] = value;
            }
            user ??= built.Config.User;
            workingDirectory ??= built.Config.WorkDir;
        }
        foreach (var (key, value) in spec.Environment)
        {
            environment[key] = value;
        }

        var id = SandboxLabelBuilder.NewId();
        var name = spec.Name ?? SandboxLabelBuilder.DefaultName(id);
        var token = SandboxLabelBuilder.NewToken();
        var created = DateTimeOffset.UtcNow;
        var ttl = spec.TimeToLive ?? DefaultTimeToLive;
        var expires = created + ttl;
        var useUnixSocket = spec.NetworkMode is "none" or "host";
        var pull = !spec.ProviderOptions.TryGetValue("pull", out var pullText) || pullText.Trim().Equals("missing", StringComparison.OrdinalIgnoreCase);
        var bindServer = BindsServer(spec, name);
        // init=auto (the default): the engine's own init (docker-init, i.e. tini, shipped with
        // docker.io) when it has one; else the server forks itself as a small PID-1 reaper.
        var init = InitMode(spec) ?? await Engine.HasInitAsync(cancellationToken).ConfigureAwait(false);

        var labels = SandboxLabelBuilder.Build(id, name, created, expires, spec.Labels.Concat(_scopeLabels), runtimeName);

        var env = new List<string>(environment.Count + 1);
        foreach (var (key, value) in environment)
        {
            env.Add(key + "=" + value);
        }
        env.Add(ProtocolConstants.TokenEnvironmentVariable + "=" + token);

        var nonRootUser = user is { } u && !IsRootUser(u);
        // Without a working directory, a non-root user or a read-only root gets the server working in
        // /tmp (writable there); the engine does not create it (an image without /tmp then fails
        // readiness with the server's own message). A given directory is created by the engine.
        var workDir = workingDirectory ?? (nonRootUser || spec.ReadOnlyRootFilesystem ? "/tmp" : null);
        var hostUid = OperatingSystem.IsWindows() ? 0u : EffectiveUid();
        var entrypoint = new List<string> { ContainerServerPath };
        if (useUnixSocket)
        {
            entrypoint.AddRange(["--unix", ContainerRunDirectory + "/" + SocketFileName]);
            if (hostUid != 0)
            {
                // The socket belongs to the container's user (root, or whoever --user names), not to
                // the calling host user: open its mode so that user can connect. The run directory
                // (0700 and ours when the container runs as root) and the token guard it.
                entrypoint.AddRange(["--unix-mode", "0666"]);
            }
        }
        else
        {
            entrypoint.AddRange(["--listen", "0.0.0.0:" + ServerPort.ToString(CultureInfo.InvariantCulture)]);
        }
        if (workDir is not null)
        {
            entrypoint.AddRange(["--workdir", workDir]);
        }
        entrypoint.AddRange(["--ttl", FormatDuration(ttl)]);
        if (spec.IdleTimeout is { } idle)
        {
            entrypoint.AddRange(["--idle-timeout", FormatDuration(idle)]);
        }
        if (spec.MaxSessions is { } max)
        {
            entrypoint.AddRange(["--max-sessions", max.ToString(CultureInfo.InvariantCulture)]);
        }

        string? runDirectory = null;
        var containerRunsAsRoot = false;
        if (useUnixSocket)
        {
            if (!Engine.Endpoint.IsLocal)
            {
                throw new SandboxException(SandboxErrorKind.NotSupported, "NetworkModeNeedsLocalEngine",
                    $"Network mode '{spec.NetworkMode}' reaches the server through a unix socket on this machine, which needs a local engine (DOCKER_HOST is {Engine.Endpoint.Display}).",
                    name);
            }
            runDirectory = Path.Combine(RunDirectoryRoot ?? RunDirectoryBase(), id);
            labels[RunDirectoryLabel] = runDirectory;
            // Who creates the socket decides the directory's mode: the given user, else the image's
            // (unknown for an image still to be pulled: then assume a non-root one).
            containerRunsAsRoot = user is not null ? IsRootUser(user) : await ImageRunsAsRootAsync(image!, cancellationToken).ConfigureAwait(false);
        }

        var serverPort = ServerPort.ToString(CultureInfo.InvariantCulture) + "/tcp";
        var mounts = new List<ContainerMount>();
        if (bindServer)
        {
            // A local engine sees this machine's files: the server is bind-mounted read-only (0755 on
            // the host, so any container user can run it) instead of copied into every container.
            // Mounts, not Binds: a path with ':' or ',' breaks the Binds string syntax.
            mounts.Add(new ContainerMount { Type = "bind", Source = ServerBinaryPath ?? ServerBinary.Locate(), Target = ContainerServerPath, ReadOnly = true });
        }
        else if (spec.ReadOnlyRootFilesystem)
        {
            // The archive API refuses to write into a read-only root, but writes into volumes: the
            // server binary goes into an anonymous volume, removed with the container (v=1) and
            // labelled like it, so a leftover can be found.
            mounts.Add(new ContainerMount
            {
                Type = "volume",
                Target = ContainerDirectory,
                VolumeOptions = new MountVolumeOptions { Labels = new Dictionary<string, string>(labels, StringComparer.Ordinal) },
            });
        }
        if (runDirectory is not null)
        {
            mounts.Add(new ContainerMount { Type = "bind", Source = runDirectory, Target = ContainerRunDirectory });
        }
        var request = new ContainerCreateRequest
        {
            Image = image!,
            Entrypoint = entrypoint.ToArray(),
            Cmd = [],
            Env = env,
            WorkingDir = workingDirectory,
            User = user,
            Labels = labels,
            ExposedPorts = useUnixSocket ? null : new Dictionary<string, EmptyObject> { [serverPort] = new() },
            StopSignal = "SIGTERM",
            HostConfig = new ContainerHostConfig
            {
                Memory = spec.MemoryBytes,
                MemorySwap = spec.MemoryBytes, // no swap on top: a hog is killed, not slowed down
                NanoCpus = spec.Cpus is { } cpus ? (long)Math.Round(cpus * 1_000_000_000d) : null,
                PidsLimit = spec.PidsLimit,
                NetworkMode = spec.NetworkMode,
                ReadonlyRootfs = spec.ReadOnlyRootFilesystem,
                SecurityOpt = ["no-new-privileges"],
                Init = init, // explicit: an engine whose daemon.json says init=true does not decide for us
                AutoRemove = false, // exit codes and logs must survive the exit
                PortBindings = useUnixSocket ? null : new Dictionary<string, List<PortBinding>>
                {
                    [serverPort] = [new PortBinding { HostIp = "127.0.0.1", HostPort = "" }],
                },
                Tmpfs = spec.ReadOnlyRootFilesystem ? new Dictionary<string, string> { ["/tmp"] = "rw,exec,nosuid,nodev,mode=1777" } : null,
                Mounts = mounts.Count == 0 ? null : mounts,
            },
        };

        string? containerId = null;
        var createSent = false;
        // Cancelling (Ctrl-C) while the engine creates the container would leave us without its id
        // while the engine goes on creating it: that one call gets a grace period instead, and the
        // cancellation is honoured right after it (the container is then deleted below).
        using var grace = new CancellationTokenSource();
        using var graceOnCancel = cancellationToken.Register(() => grace.CancelAfter(CreateGracePeriod));
        try
        {
            if (runDirectory is not null)
            {
                CreateRunDirectory(runDirectory, containerRunsAsRoot);
            }
            var createPath = "/containers/create?name=" + DockerEngineClient.Q(name);
            ContainerCreateResponse createdContainer;
            try
            {
                createSent = true;
                createdContainer = await Engine.PostJsonAsync(createPath, request,
                    DockerJsonContext.Default.ContainerCreateRequest, DockerJsonContext.Default.ContainerCreateResponse,
                    CreateErrors(name), grace.Token).ConfigureAwait(false);
            }
            catch (SandboxException ex) when (ex.ErrorId == ImageNotFoundId)
            {
                if (!pull)
                {
                    throw ImageMissing(image!, name, pullError: null, ex);
                }
                // As 'docker run' does: pull a missing image once, then create again.
                await PullAsync(image!, name, ex, cancellationToken).ConfigureAwait(false);
                createdContainer = await Engine.PostJsonAsync(createPath, request,
                    DockerJsonContext.Default.ContainerCreateRequest, DockerJsonContext.Default.ContainerCreateResponse,
                    CreateErrors(name), grace.Token).ConfigureAwait(false);
            }
            containerId = createdContainer.Id;
            _containerIds[id] = containerId;
            cancellationToken.ThrowIfCancellationRequested();

            if (!bindServer)
            {
                using var archive = new ByteArrayContent(spec.ReadOnlyRootFilesystem ? _serverArchiveFlat.Value : _serverArchive.Value);
                archive.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
                var target = spec.ReadOnlyRootFilesystem ? ContainerDirectory : "/";
                await Engine.SendAsync(HttpMethod.Put, $"/containers/{containerId}/archive?path={DockerEngineClient.Q(target)}", archive,
                    null, cancellationToken).ConfigureAwait(false);
            }
            await Engine.SendAsync(HttpMethod.Post, $"/containers/{containerId}/start", null, null, cancellationToken,
                HttpStatusCode.NotModified).ConfigureAwait(false);
            var inspect = await InspectAsync(containerId, cancellationToken).ConfigureAwait(false)
                          ?? throw new SandboxException(SandboxErrorKind.Internal, "SandboxVanished",
                              $"Container {Short(containerId)} of sandbox '{name}' disappeared right after it started.", name);
            var sandbox = ToSandbox(inspect, labels);
            sandbox.Token = token;
            return sandbox;
        }
        catch (Exception ex)
        {
            await CleanUpFailedCreateAsync(id, containerId, createSent && !EngineRejected(ex), runDirectory).ConfigureAwait(false);
            if (ex is SandboxException or OperationCanceledException)
            {
                throw;
            }
            throw new SandboxException(SandboxErrorKind.Internal, "SandboxCreateFailed",
                $"Creating docker sandbox '{name}' failed: {ex.Message}", name, ex);
        }
    }

    /// <summary>How long the container-create call may finish after the caller cancelled.</summary>
    internal static readonly TimeSpan CreateGracePeriod = TimeSpan.FromSeconds(15);

    /// <summary>The engine answered the create with a refusal: it made nothing.</summary>
    private static bool EngineRejected(Exception ex) =>
        ex is SandboxException { Kind: SandboxErrorKind.NotFound or SandboxErrorKind.AlreadyExists or SandboxErrorKind.InvalidArgument
                                   or SandboxErrorKind.NotSupported };

    /// <summary>
    /// Deletes what a failed create made: the container (with its anonymous volume), or, when the
    /// create call itself broke off (timeout, lost connection), whatever container carries our id;
    /// and the socket directory. Errors here are swallowed: the original one is what the caller
    /// needs, and the labels let 'rm --expired' reap a leftover.
    /// </summary>
    private async Task CleanUpFailedCreateAsync(string id, string? containerId, bool lookUp, string? runDirectory)
    {
        using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            var doomed = new List<string>();
            if (containerId is not null)
            {
                doomed.Add(containerId);
            }
            else if (lookUp)
            {
                var found = await ListContainersAsync([SandboxLabels.Id + "=" + id], budget.Token).ConfigureAwait(false);
                doomed.AddRange(found.Select(c => c.Id));
            }
            foreach (var doomedId in doomed)
            {
                await Engine.SendAsync(HttpMethod.Delete, $"/containers/{doomedId}?force=1&v=1", null, null, budget.Token,
                    HttpStatusCode.NotFound).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is SandboxException or OperationCanceledException or IOException)
        {
        }
        if (runDirectory is not null)
        {
            DeleteRunDirectory(runDirectory);
        }
        _containerIds.TryRemove(id, out _);
    }

    /// <inheritdoc />
    public async Task<Sandbox?> GetAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(idOrName);
        foreach (var key in new[] { SandboxLabels.Id, SandboxLabels.Name })
        {
            var found = await ListContainersAsync([key + "=" + idOrName], cancellationToken).ConfigureAwait(false);
            if (found.Count > 0)
            {
                return ToSandbox(found[0]);
            }
        }
        return null;
    }

    /// <inheritdoc />
    public async Task<SandboxStatus> GetStatusAsync(string id, CancellationToken cancellationToken = default)
    {
        var containerId = await ResolveContainerIdAsync(id, cancellationToken).ConfigureAwait(false);
        if (containerId is null)
        {
            return new SandboxStatus(SandboxState.Gone, "The container no longer exists.");
        }
        var inspect = await InspectAsync(containerId, cancellationToken).ConfigureAwait(false);
        if (inspect is null)
        {
            _containerIds.TryRemove(id, out _);
            return new SandboxStatus(SandboxState.Gone, "The container no longer exists.");
        }
        var state = MapState(inspect.State);
        if (inspect.State?.Status == "created" && inspect.Config?.Labels is { } labels && NeverStarted(labels, createdOnly: true))
        {
            return new SandboxStatus(SandboxState.Failed,
                $"Never started: created more than {NeverStartedAfter.TotalMinutes:0} minutes ago, its creator stopped before starting it.");
        }
        if (state is not (SandboxState.Failed or SandboxState.Stopped))
        {
            return new SandboxStatus(state);
        }
        var st = inspect.State!;
        var lines = await TryGetLogsAsync(containerId, FailureLogLines, cancellationToken).ConfigureAwait(false);
        var reason = st.OOMKilled ? "OOMKilled"
                   : st.Dead ? "The container is dead: " + st.Error
                   : !string.IsNullOrEmpty(st.Error) ? $"Exited with code {st.ExitCode}: {st.Error}"
                   : $"Exited with code {st.ExitCode}.";
        return new SandboxStatus(state, reason, st.ExitCode, lines);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<Sandbox> ListAsync(IReadOnlyDictionary<string, string>? labelFilter = null,
                                                     [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var filters = new List<string> { SandboxLabels.Managed + "=true" };
        if (labelFilter is not null)
        {
            foreach (var (key, value) in labelFilter)
            {
                filters.Add(key + "=" + value);
            }
        }
        foreach (var container in await ListContainersAsync(filters, cancellationToken).ConfigureAwait(false))
        {
            yield return ToSandbox(container);
        }
    }

    /// <inheritdoc />
    public async Task RemoveAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        var containerId = await ResolveContainerIdAsync(id, cancellationToken).ConfigureAwait(false);
        string? runDirectory = null;
        if (containerId is not null)
        {
            var inspect = await InspectAsync(containerId, cancellationToken).ConfigureAwait(false);
            inspect?.Config?.Labels?.TryGetValue(RunDirectoryLabel, out runDirectory);
            await Engine.SendAsync(HttpMethod.Delete, $"/containers/{containerId}?force=1&v=1", null, null, cancellationToken,
                HttpStatusCode.NotFound).ConfigureAwait(false);
        }
        _containerIds.TryRemove(id, out _);
        // The directory is named after our id; accept the label's only when it is.
        runDirectory = runDirectory is not null && Path.GetFileName(runDirectory) == id ? runDirectory : Path.Combine(RunDirectoryRoot ?? RunDirectoryBase(), id);
        if (IsValidId(id))
        {
            DeleteRunDirectory(runDirectory);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> GetLogsAsync(string id, int tail, CancellationToken cancellationToken = default)
    {
        var containerId = await ResolveContainerIdAsync(id, cancellationToken).ConfigureAwait(false)
                          ?? throw NotFound(id);
        return await GetContainerLogsAsync(containerId, tail, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task PauseAsync(string id, CancellationToken cancellationToken = default)
    {
        var containerId = await ResolveContainerIdAsync(id, cancellationToken).ConfigureAwait(false) ?? throw NotFound(id);
        await Engine.SendAsync(HttpMethod.Post, $"/containers/{containerId}/pause", null, ContainerErrors(id), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task ResumeAsync(string id, CancellationToken cancellationToken = default)
    {
        var containerId = await ResolveContainerIdAsync(id, cancellationToken).ConfigureAwait(false) ?? throw NotFound(id);
        await Engine.SendAsync(HttpMethod.Post, $"/containers/{containerId}/unpause", null, ContainerErrors(id), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The bearer token of a sandbox made by any process, read from its container's environment
    /// (never from a command line).
    /// </summary>
    public async Task<string> GetTokenAsync(string id, CancellationToken cancellationToken = default)
    {
        var containerId = await ResolveContainerIdAsync(id, cancellationToken).ConfigureAwait(false) ?? throw NotFound(id);
        var inspect = await InspectAsync(containerId, cancellationToken).ConfigureAwait(false) ?? throw NotFound(id);
        var prefix = ProtocolConstants.TokenEnvironmentVariable + "=";
        var entry = inspect.Config?.Env?.FirstOrDefault(e => e.StartsWith(prefix, StringComparison.Ordinal));
        return entry?[prefix.Length..] ?? throw new SandboxException(SandboxErrorKind.Unauthorized, "SandboxTokenNotFound",
            $"Container {Short(containerId)} of sandbox '{id}' carries no {ProtocolConstants.TokenEnvironmentVariable}; it was not made by SandboxPS.", id);
    }

    // ---- engine helpers -------------------------------------------------------------------------

    private async Task<ContainerInspect?> InspectAsync(string containerId, CancellationToken ct)
    {
        try
        {
            return await Engine.GetJsonAsync($"/containers/{containerId}/json", DockerJsonContext.Default.ContainerInspect,
                ContainerErrors(containerId), ct).ConfigureAwait(false);
        }
        catch (SandboxException ex) when (ex.Kind == SandboxErrorKind.NotFound)
        {
            return null;
        }
    }

    private async Task<List<ContainerSummary>> ListContainersAsync(IEnumerable<string> labelFilters, CancellationToken ct)
    {
        var filters = labelFilters.Concat(_scope).Append(SandboxLabels.Managed + "=true").Distinct(StringComparer.Ordinal);
        var list = await Engine.GetJsonAsync("/containers/json?all=1&filters=" + DockerEngineClient.LabelFilters(filters),
            DockerJsonContext.Default.ListContainerSummary, null, ct).ConfigureAwait(false);
        foreach (var container in list)
        {
            if (container.Labels?.TryGetValue(SandboxLabels.Id, out var sid) == true)
            {
                _containerIds[sid] = container.Id;
            }
        }
        return list;
    }

    private async Task<string?> ResolveContainerIdAsync(string id, CancellationToken ct)
    {
        if (_containerIds.TryGetValue(id, out var known))
        {
            return known;
        }
        var found = await ListContainersAsync([SandboxLabels.Managed + "=true", SandboxLabels.Id + "=" + id], ct).ConfigureAwait(false);
        return found.Count > 0 ? found[0].Id : null;
    }

    private async Task<IReadOnlyList<string>> GetContainerLogsAsync(string containerId, int tail, CancellationToken ct)
    {
        using var response = await Engine.SendStreamingAsync(HttpMethod.Get,
            $"/containers/{containerId}/logs?stdout=1&stderr=1&tail={Math.Max(1, tail).ToString(CultureInfo.InvariantCulture)}",
            null, ContainerErrors(containerId), ct).ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        var text = await DockerEngineClient.ReadMultiplexedAsync(stream, ct).ConfigureAwait(false);
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        return lines.Take(count).TakeLast(tail).ToArray();
    }

    private async Task<IReadOnlyList<string>> TryGetLogsAsync(string containerId, int tail, CancellationToken ct)
    {
        try
        {
            return await GetContainerLogsAsync(containerId, tail, ct).ConfigureAwait(false);
        }
        catch (SandboxException)
        {
            return [];
        }
    }

    private const string ImageNotFoundId = "DockerImageNotFound";

    /// <summary><c>POST /images/create</c>; a failure (no registry, no such image) keeps the create's error as its inner one.</summary>
    private async Task PullAsync(string image, string name, SandboxException notFound, CancellationToken ct)
    {
        var (repository, tag) = SplitReference(image);
        var path = "/images/create?fromImage=" + DockerEngineClient.Q(repository) + (tag is null ? "" : "&tag=" + DockerEngineClient.Q(tag));
        string? error = null;
        try
        {
            using var response = await Engine.SendStreamingAsync(HttpMethod.Post, path, null, null, ct).ConfigureAwait(false);
            await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            using var reader = new StreamReader(stream);
            while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }
                try
                {
                    var message = System.Text.Json.JsonSerializer.Deserialize(line, DockerJsonContext.Default.BuildMessage);
                    error ??= message?.ErrorDetail?.Message ?? message?.Error;
                }
                catch (System.Text.Json.JsonException)
                {
                }
            }
        }
        catch (SandboxException ex) when (ex.Kind is SandboxErrorKind.NotFound or SandboxErrorKind.InvalidArgument or SandboxErrorKind.Internal
                                          or SandboxErrorKind.Unauthorized)
        {
            error = ex.Message;
        }
        if (error is not null)
        {
            throw ImageMissing(image, name, error, notFound);
        }
    }

    /// <summary><c>repo[:tag]</c> or <c>repo@digest</c> → (repository, tag or digest); a port colon is not a tag.</summary>
    internal static (string Repository, string? Tag) SplitReference(string image)
    {
        var at = image.IndexOf('@');
        if (at > 0)
        {
            return (image[..at], image[(at + 1)..]);
        }
        var colon = image.LastIndexOf(':');
        return colon > image.LastIndexOf('/') && colon > 0 ? (image[..colon], image[(colon + 1)..]) : (image, "latest");
    }

    // ---- mapping --------------------------------------------------------------------------------

    private Sandbox ToSandbox(ContainerInspect inspect, IReadOnlyDictionary<string, string>? knownLabels = null)
    {
        var labels = knownLabels ?? (IReadOnlyDictionary<string, string>?)inspect.Config?.Labels ?? new Dictionary<string, string>();
        string? endpoint = null;
        if (labels.TryGetValue(RunDirectoryLabel, out var runDirectory))
        {
            endpoint = "unix:" + Path.Combine(runDirectory, SocketFileName);
        }
        else if (inspect.NetworkSettings?.Ports?.TryGetValue(ServerPort.ToString(CultureInfo.InvariantCulture) + "/tcp", out var bindings) == true
                 && bindings?.FirstOrDefault(b => !string.IsNullOrEmpty(b.HostPort)) is { } binding)
        {
            endpoint = $"http://127.0.0.1:{binding.HostPort}";
        }
        var sandbox = Build(labels, inspect.Id, inspect.Config?.Image, MapState(inspect.State), endpoint, inspect.State?.Status == "created");
        _containerIds[sandbox.Id] = inspect.Id;
        return sandbox;
    }

    private Sandbox ToSandbox(ContainerSummary container)
    {
        var labels = (IReadOnlyDictionary<string, string>?)container.Labels ?? new Dictionary<string, string>();
        string? endpoint = null;
        if (labels.TryGetValue(RunDirectoryLabel, out var runDirectory))
        {
            endpoint = "unix:" + Path.Combine(runDirectory, SocketFileName);
        }
        else if (container.Ports?.FirstOrDefault(p => p.PrivatePort == ServerPort && p.PublicPort > 0 && p.IP is "127.0.0.1") is { } port)
        {
            endpoint = $"http://127.0.0.1:{port.PublicPort.ToString(CultureInfo.InvariantCulture)}";
        }
        return Build(labels, container.Id, container.Image, MapSummaryState(container.State, container.Status), endpoint, container.State == "created");
    }

    /// <summary>
    /// A container still only created this long after its sandbox was: its creator died between
    /// create and start (kill -9), so it never will start. It counts as failed, and 'rm --expired' removes it.
    /// </summary>
    internal static readonly TimeSpan NeverStartedAfter = TimeSpan.FromMinutes(10);

    private static bool NeverStarted(IReadOnlyDictionary<string, string> labels, bool createdOnly) =>
        createdOnly && SandboxLabelBuilder.ParseTime(labels.GetValueOrDefault(SandboxLabels.Created)) is { } created
                    && DateTimeOffset.UtcNow - created > NeverStartedAfter;

    private static Sandbox Build(IReadOnlyDictionary<string, string> labels, string containerId, string? image, SandboxState state, string? endpoint,
                                 bool createdOnly)
    {
        var id = labels.TryGetValue(SandboxLabels.Id, out var sid) ? sid : Short(containerId);
        var name = labels.TryGetValue(SandboxLabels.Name, out var n) ? n : id;
        if (NeverStarted(labels, createdOnly))
        {
            state = SandboxState.Failed;
        }
        var created = SandboxLabelBuilder.ParseTime(labels.GetValueOrDefault(SandboxLabels.Created)) ?? DateTimeOffset.MinValue;
        var expires = SandboxLabelBuilder.ParseTime(labels.GetValueOrDefault(SandboxLabels.Expires));
        labels.TryGetValue(SandboxLabels.Runtime, out var runtime);
        return new Sandbox(id, name, ProviderName, state, endpoint, image, runtime,
                           new Dictionary<string, string>(labels, StringComparer.Ordinal), created, expires);
    }

    internal static SandboxState MapState(ContainerState? state) => state?.Status switch
    {
        "created" => SandboxState.Starting,
        "restarting" => SandboxState.Starting,
        "running" => SandboxState.Running,
        "paused" => SandboxState.Paused,
        "removing" => SandboxState.Stopped,
        "exited" => state.ExitCode == 0 && !state.OOMKilled ? SandboxState.Stopped : SandboxState.Failed,
        "dead" => SandboxState.Failed,
        _ => SandboxState.Failed,
    };

    internal static SandboxState MapSummaryState(string? state, string? status)
    {
        switch (state)
        {
            case "created":
            case "restarting":
                return SandboxState.Starting;
            case "running":
                return SandboxState.Running;
            case "paused":
                return SandboxState.Paused;
            case "removing":
                return SandboxState.Stopped;
            case "exited":
                var match = ExitedStatusRegex().Match(status ?? "");
                return match.Success && match.Groups[1].Value == "0" ? SandboxState.Stopped : SandboxState.Failed;
            default:
                return SandboxState.Failed;
        }
    }

    [GeneratedRegex(@"^Exited \((-?\d+)\)")]
    private static partial Regex ExitedStatusRegex();

    // ---- validation -----------------------------------------------------------------------------

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
    private static partial Regex NameRegex();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvKeyRegex();

    [GeneratedRegex("^[a-f0-9]{8,64}$")]
    private static partial Regex IdRegex();

    internal static bool IsValidId(string id) => IdRegex().IsMatch(id);

    private static void Validate(SandboxSpec spec)
    {
        SpecValidator.Validate(spec, ProviderName, KnownOptions);
        if (string.IsNullOrWhiteSpace(spec.Image) && string.IsNullOrWhiteSpace(spec.Runtime))
        {
            throw Invalid("--image", "The docker provider needs an image or a runtime.", "Pass --image IMAGE or --runtime NAME|FILE.");
        }
        if (spec.Image is { } image && (image.Any(char.IsWhiteSpace) || image.Any(char.IsControl)))
        {
            throw Invalid("--image", $"Image '{Printable(image)}' contains whitespace or control characters.", "Pass an image reference like busybox:1.36.");
        }
        if (spec.Environment.ContainsKey(ProtocolConstants.TokenEnvironmentVariable))
        {
            throw Invalid("--env", $"Environment variable '{ProtocolConstants.TokenEnvironmentVariable}' is reserved for the sandbox server's token.", "Use another name.");
        }
        if (spec.WorkingDirectory is { } wd && (!wd.StartsWith('/') || wd.Any(char.IsControl)))
        {
            throw Invalid("--workdir", $"Working directory '{Printable(wd)}' must be an absolute path inside the container.", "Pass e.g. --workdir /work.");
        }
        if (spec.User is { } user && (user.Length == 0 || user.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))))
        {
            throw Invalid("--user", $"User '{Printable(user)}' is not valid.", "Pass a name, uid or uid:gid, e.g. --user 1000:1000.");
        }
        if (spec.MemoryBytes is { } memory && memory < 6 * 1024 * 1024)
        {
            throw Invalid("--memory", $"Memory limit {memory} bytes is below the engine's minimum of 6 MiB.", "Pass e.g. --memory 256m.");
        }
        if (spec.NetworkMode is { } network && (network.Length == 0 || network.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))))
        {
            throw Invalid("--network", $"Network mode '{Printable(network)}' is not valid.", "Pass bridge, none, host or a network name.");
        }
        InitMode(spec);
        if (spec.ProviderOptions.TryGetValue("pull", out var pull) && pull.Trim().ToLowerInvariant() is not ("missing" or "never"))
        {
            throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidProviderOption,
                $"Option 'pull' must be 'missing' (pull an image that is not present; the default) or 'never', not '{Printable(pull)}'.", "pull");
        }
        if (spec.ProviderOptions.TryGetValue("serverMount", out var serverMount) && serverMount.Trim().ToLowerInvariant() is not ("bind" or "copy"))
        {
            throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidProviderOption,
                $"Option 'serverMount' must be 'bind' (bind-mount the server read-only; the default on a local engine) or 'copy' (copy it in through the archive API; the default on a remote engine), not '{Printable(serverMount)}'.", "serverMount");
        }
    }

    /// <summary>
    /// Whether the server binary is bind-mounted (local engine, unless serverMount=copy) rather than
    /// copied in through the archive API (remote engine, or serverMount=copy).
    /// </summary>
    private bool BindsServer(SandboxSpec spec, string name)
    {
        if (!spec.ProviderOptions.TryGetValue("serverMount", out var text))
        {
            return Engine.Endpoint.IsLocal;
        }
        if (text.Trim().Equals("copy", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        if (!Engine.Endpoint.IsLocal)
        {
            throw new SandboxException(SandboxErrorKind.NotSupported, "ServerMountNeedsLocalEngine",
                $"Option serverMount=bind mounts a file of this machine, which needs a local engine (DOCKER_HOST is {Engine.Endpoint.Display}).",
                name)
            {
                RecommendedAction = "Use --provider-option serverMount=copy, or leave the option out.",
            };
        }
        return true;
    }

    /// <summary>The <c>init</c> option: true (the engine's init), false (the server's own), null = auto.</summary>
    private static bool? InitMode(SandboxSpec spec)
    {
        if (!spec.ProviderOptions.TryGetValue("init", out var text) || text.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        return text.Trim().ToLowerInvariant() switch
        {
            "true" or "1" or "yes" or "on" => true,
            "false" or "0" or "no" or "off" => false,
            _ => throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidProviderOption,
                     $"Option 'init' must be 'auto' (the engine's init when it has one, else the server's own; the default), 'true' (the engine's init, docker-init) or 'false' (the server reaps orphans itself as PID 1), not '{Printable(text)}'.", "init"),
        };
    }

    private static string Printable(string text) => text.Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal);

    private static SandboxException Invalid(string parameter, string message, string? action = null) =>
        new(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidSpec, message, parameter) { RecommendedAction = action };

    private static SandboxException NotFound(string id) =>
        new(SandboxErrorKind.NotFound, "SandboxNotFound", $"No docker sandbox with id '{id}'.", id)
        {
            RecommendedAction = "List sandboxes with 'sandboxps ls --provider docker'.",
        };

    private static DockerErrorMap ContainerErrors(string target) =>
        DockerErrorMap.NotFound("SandboxNotFound", target, "List sandboxes with 'sandboxps ls --provider docker'.");

    private static DockerErrorMap CreateErrors(string name) => new()
    {
        Overrides = new Dictionary<HttpStatusCode, (SandboxErrorKind, string)>
        {
            [HttpStatusCode.NotFound] = (SandboxErrorKind.NotFound, ImageNotFoundId),
            [HttpStatusCode.Conflict] = (SandboxErrorKind.AlreadyExists, SandboxErrorIds.SandboxNameInUse),
        },
        Target = name,
        RecommendedAction = $"Choose another name, or remove the old sandbox ('sandboxps rm {name}').",
    };

    /// <summary>The image is not on the engine and was not (or could not be) pulled: say so, and how to get it.</summary>
    private SandboxException ImageMissing(string image, string name, string? pullError, Exception inner)
    {
        var why = pullError is null
            ? "and pull=never forbids pulling it"
            : $"and pulling it failed ({pullError.Trim()}); when no registry is reachable from the engine (an offline machine), nothing can be pulled and the image must be built or loaded there";
        return new SandboxException(SandboxErrorKind.NotFound, ImageNotFoundId,
            $"Image '{image}' is not on the Docker engine at {Engine.Endpoint.Display} {why}.", name, inner)
        {
            RecommendedAction = $"Build it ('docker build -t {image} DIR'), load it ('docker load -i FILE'), or use a runtime ('sandboxps runtime build NAME'); 'docker images' lists the images the engine has.",
        };
    }

    /// <summary>Whether an image runs as root when no user is given (its USER is empty, root or 0); false when it is not present.</summary>
    private async Task<bool> ImageRunsAsRootAsync(string image, CancellationToken ct)
    {
        try
        {
            var inspect = await Engine.GetJsonAsync("/images/" + image + "/json", DockerJsonContext.Default.ImageInspect,
                DockerErrorMap.NotFound(ImageNotFoundId, image), ct).ConfigureAwait(false);
            return string.IsNullOrEmpty(inspect.Config?.User) || IsRootUser(inspect.Config.User);
        }
        catch (SandboxException ex) when (ex.Kind is SandboxErrorKind.NotFound or SandboxErrorKind.InvalidArgument)
        {
            return false;
        }
    }

    // ---- small helpers --------------------------------------------------------------------------

    private static bool IsRootUser(string user) => user is "root" or "0" || user.StartsWith("0:", StringComparison.Ordinal)
                                                   || user.StartsWith("root:", StringComparison.Ordinal);


    internal static string FormatDuration(TimeSpan value) =>
        Math.Max(1L, (long)Math.Ceiling(value.TotalSeconds)).ToString(CultureInfo.InvariantCulture) + "s";

    private static string Short(string containerId) => containerId.Length > 12 ? containerId[..12] : containerId;


    /// <summary>Host directory under which per-sandbox socket directories live.</summary>
    internal static string RunDirectoryBase()
    {
        if (Environment.GetEnvironmentVariable(RunDirectoryVariable) is { Length: > 0 } configured)
        {
            return configured;
        }
        if (!OperatingSystem.IsWindows() && EffectiveUid() == 0)
        {
            return "/run/sandboxps/docker";
        }
        if (Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } xdg)
        {
            return Path.Combine(xdg, "sandboxps", "docker");
        }
        var uid = OperatingSystem.IsWindows() ? 0 : EffectiveUid();
        return Path.Combine(Path.GetTempPath(), "sandboxps-" + uid.ToString(CultureInfo.InvariantCulture), "docker");
    }

    private static void CreateRunDirectory(string directory, bool containerRunsAsRoot)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new SandboxException(SandboxErrorKind.NotSupported, "NetworkModeNotSupported",
                "Network mode none needs unix sockets on the host.");
        }
        var parent = Path.GetDirectoryName(directory)!;
        Directory.CreateDirectory(parent, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                                          | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        Directory.CreateDirectory(directory);
        // The server creates its socket here as the container's user. Root in the container gets in
        // anyway (0700); another user needs write and search access (0733: it still cannot list the
        // directory, whose name is random under a parent that cannot be listed either, and the
        // server demands the token).
        var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        if (!containerRunsAsRoot)
        {
            mode |= UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        }
        File.SetUnixFileMode(directory, mode);
    }

    private static void DeleteRunDirectory(string directory)
    {
        try
        {
            var socket = Path.Combine(directory, SocketFileName);
            if (File.Exists(socket) || Directory.Exists(directory))
            {
                File.Delete(socket);
                Directory.Delete(directory, recursive: false);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Something else lives in it (not ours) or it is already gone: leave it.
        }
    }

    internal static byte[] BuildServerArchive(string serverPath, bool withDirectory)
    {
        using var buffer = new MemoryStream();
        using (var writer = new System.Formats.Tar.TarWriter(buffer, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: true))
        {
            const UnixFileMode rx = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                                  | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
            var prefix = "";
            if (withDirectory)
            {
                prefix = ContainerDirectory.TrimStart('/') + "/";
                writer.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.Directory, prefix)
                {
                    Mode = rx, Uid = 0, Gid = 0, ModificationTime = DateTimeOffset.UnixEpoch,
                });
            }
            using var binary = File.OpenRead(serverPath);
            writer.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, prefix + ServerBinary.FileName)
            {
                Mode = rx, Uid = 0, Gid = 0, ModificationTime = File.GetLastWriteTimeUtc(serverPath), DataStream = binary,
            });
        }
        return buffer.ToArray();
    }

    /// <summary>Effective uid of this process (Linux: /proc; elsewhere 0 for root, else 1000).</summary>
    private static uint EffectiveUid()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                    return uint.Parse(fields[2], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
        }
        return Environment.UserName == "root" ? 0u : 1000u;
    }
}
