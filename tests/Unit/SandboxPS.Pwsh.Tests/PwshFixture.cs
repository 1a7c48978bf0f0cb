using System.Collections;
using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;

namespace SandboxPS.Pwsh.Tests;

/// <summary>
/// One state directory, one run label and two ready Process sandboxes for the whole collection; every
/// test runs its scripts in runspaces of its own with the staged module imported (as a user's session
/// would have it). Sandboxes are made in the fixture's own runspace, so every test also uses objects
/// that were made in another runspace.
/// </summary>
public sealed class PwshFixture : IDisposable
{
    private readonly InitialSessionState _sessionState;

    public PwshFixture()
    {
        var version = typeof(PwshFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "ModuleVersion").Value!;
        ModuleManifest = Path.Combine(AppContext.BaseDirectory, "module", "SandboxPS", version, "SandboxPS.psd1");
        if (!File.Exists(ModuleManifest))
        {
            throw new InvalidOperationException($"The staged module is missing ({ModuleManifest}); build this project (target StageModuleForPwshTests).");
        }
        // Process sandboxes of this run live in a state directory of their own (read when the core starts).
        StateDir = Directory.CreateTempSubdirectory("sandboxps-pwsh-tests-").FullName;
        Environment.SetEnvironmentVariable("SANDBOXPS_STATE_DIR", StateDir);
        RunLabel = "pwsh-xunit-" + Guid.NewGuid().ToString("N")[..12];

        _sessionState = InitialSessionState.CreateDefault2();
        _sessionState.ImportPSModule(ModuleManifest);
        _sessionState.ThrowOnRunspaceOpenError = true;

        try
        {
            Sandbox = NewSandbox();
            Sandbox2 = NewSandbox();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The staged SandboxPS.psd1.</summary>
    public string ModuleManifest { get; }

    /// <summary>SANDBOXPS_STATE_DIR of this test process.</summary>
    public string StateDir { get; }

    /// <summary>Value of the org.sandboxps.test label on every sandbox this run makes.</summary>
    public string RunLabel { get; }

    /// <summary>A ready Process sandbox, made in the fixture's runspace.</summary>
    public PSObject Sandbox { get; }

    /// <summary>A second one, for arrays.</summary>
    public PSObject Sandbox2 { get; }

    public static string Id(PSObject sandbox) => (string)sandbox.Properties["Id"].Value;

    public static string Name(PSObject sandbox) => (string)sandbox.Properties["Name"].Value;

    /// <summary>A ready Process sandbox with this run's label (removed by <see cref="Dispose"/> at the latest).</summary>
    public PSObject NewSandbox() =>
        Run("param($label) New-Sandbox -Name ('pwsh-' + [guid]::NewGuid().ToString('N').Substring(0, 12)) -Provider Process " +
            "-Label @{ 'org.sandboxps.test' = $label } -TimeToLive 10m -Wait -TimeoutSec 60 -ErrorAction Stop",
            new() { ["label"] = RunLabel }).Single();

    /// <summary>An open runspace with the module imported; <paramref name="host"/> answers prompts when given.</summary>
    public Runspace OpenRunspace(System.Management.Automation.Host.PSHost? host = null)
    {
        var runspace = host is null
            ? RunspaceFactory.CreateRunspace(_sessionState)
            : RunspaceFactory.CreateRunspace(host, _sessionState);
        runspace.Open();
        return runspace;
    }

    /// <summary>Runs <paramref name="script"/> (a param() block takes <paramref name="parameters"/>) in a new runspace; fails on any error record.</summary>
    public Collection<PSObject> Run(string script, Dictionary<string, object?>? parameters = null)
    {
        var (output, errors) = RunAllowingErrors(script, parameters);
        if (errors.Count > 0)
        {
            throw new Xunit.Sdk.XunitException("The script wrote errors:\n" + string.Join("\n", errors.Select(e => $"{e.FullyQualifiedErrorId}: {e}")));
        }
        return output;
    }

    /// <summary>Runs <paramref name="script"/> in a new runspace and returns its output and error records.</summary>
    public (Collection<PSObject> Output, List<ErrorRecord> Errors) RunAllowingErrors(string script, Dictionary<string, object?>? parameters = null)
    {
        using var runspace = OpenRunspace();
        using var ps = PowerShell.Create(runspace);
        ps.AddScript(script);
        foreach (var (key, value) in parameters ?? [])
        {
            ps.AddParameter(key, value);
        }
        var output = ps.Invoke();
        return (output, ps.Streams.Error.ToList());
    }

    /// <summary>Pids of processes whose command line contains <paramref name="tag"/> (a random string of the test).</summary>
    public static IReadOnlyList<int> ProcessesTagged(string tag)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains(tag, StringComparison.Ordinal))
                {
                    pids.Add(pid);
                }
            }
            catch (IOException)
            {
                // Exited while we looked.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return pids;
    }

    /// <summary>Polls <paramref name="condition"/> every 50 ms for at most <paramref name="timeout"/> (a bound against hangs, not a speed claim).</summary>
    public static bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (condition())
            {
                return true;
            }
            Thread.Sleep(50);
        }
        return condition();
    }

    public void Dispose()
    {
        try
        {
            RunAllowingErrors("param($label) Get-Sandbox -Label @{ 'org.sandboxps.test' = $label } -WarningAction SilentlyContinue | Remove-Sandbox -Confirm:$false -Force",
                new() { ["label"] = RunLabel });
        }
        finally
        {
            try
            {
                Directory.Delete(StateDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PwshCollection : ICollectionFixture<PwshFixture>
{
    public const string Name = "pwsh";
}

/// <summary>A host whose prompts are answered by the test and whose host output is recorded.</summary>
public sealed class ScriptedHost(Func<string, string, Collection<System.Management.Automation.Host.ChoiceDescription>, int> answer) : System.Management.Automation.Host.PSHost
{
    private readonly ScriptedUserInterface _ui = new(answer);

    public List<string> Prompts => _ui.Prompts;

    public string HostOutput => _ui.Output.ToString();

    public override string Name => "SandboxPS.Pwsh.Tests";
    public override Version Version => new(1, 0);
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override System.Management.Automation.Host.PSHostUserInterface UI => _ui;
    public override System.Globalization.CultureInfo CurrentCulture => System.Globalization.CultureInfo.InvariantCulture;
    public override System.Globalization.CultureInfo CurrentUICulture => System.Globalization.CultureInfo.InvariantCulture;
    public override void EnterNestedPrompt() => throw new NotSupportedException();
    public override void ExitNestedPrompt() => throw new NotSupportedException();
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }
    public override void SetShouldExit(int exitCode) { }

    private sealed class ScriptedUserInterface(Func<string, string, Collection<System.Management.Automation.Host.ChoiceDescription>, int> answer)
        : System.Management.Automation.Host.PSHostUserInterface
    {
        public List<string> Prompts { get; } = [];
        public System.Text.StringBuilder Output { get; } = new();

        public override System.Management.Automation.Host.PSHostRawUserInterface? RawUI => null;

        public override int PromptForChoice(string caption, string message, Collection<System.Management.Automation.Host.ChoiceDescription> choices, int defaultChoice)
        {
            lock (Prompts)
            {
                Prompts.Add(caption + "\n" + message);
            }
            return answer(caption, message, choices);
        }

        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<System.Management.Automation.Host.FieldDescription> descriptions) => throw new NotSupportedException(caption);
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw new NotSupportedException(caption);
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw new NotSupportedException(caption);
        public override string ReadLine() => throw new NotSupportedException();
        public override System.Security.SecureString ReadLineAsSecureString() => throw new NotSupportedException();
        public override void Write(string value) { lock (Output) { Output.Append(value); } }
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Write(value);
        public override void WriteLine(string value) => Write(value + "\n");
        public override void WriteErrorLine(string value) => Write("ERROR: " + value + "\n");
        public override void WriteDebugLine(string message) => Write("DEBUG: " + message + "\n");
        public override void WriteProgress(long sourceId, ProgressRecord record) { }
        public override void WriteVerboseLine(string message) => Write("VERBOSE: " + message + "\n");
        public override void WriteWarningLine(string message) => Write("WARNING: " + message + "\n");
    }

    /// <summary>Index of the choice whose label (without its hot-key marker) is <paramref name="label"/>.</summary>
    public static int Choose(Collection<System.Management.Automation.Host.ChoiceDescription> choices, string label)
    {
        for (var i = 0; i < choices.Count; i++)
        {
            if (choices[i].Label.Replace("&", "", StringComparison.Ordinal).Equals(label, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }
        throw new InvalidOperationException($"No choice '{label}' among {string.Join(", ", choices.Select(c => c.Label))}.");
    }
}
