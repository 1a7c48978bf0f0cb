using System.Collections;
using System.Diagnostics;
using System.Management.Automation;
using System.Text;
using SandboxPS.Core;
using SandboxPS.Core.Automation;
using SandboxPS.Protocol;
using SandboxModel = SandboxPS.Core.Sandbox;

namespace SandboxPS.Commands;

/// <summary>
/// Runs a command, a one-shot program or Python code in a sandbox, or reads, writes or edits a file there
/// (docs/help/Invoke-SandboxAction.md). A non-zero exit code is data unless -ErrorOnNonZeroExit.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "SandboxAction", DefaultParameterSetName = CommandSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(SandboxActionResult))]
public sealed class InvokeSandboxActionCommand : SandboxCmdletBase
{
    private const string CommandSet = "Command";
    private const string ExecSet = "Exec";
    private const string PythonSet = "Python";
    private const string ReadFileSet = "ReadFile";
    private const string WriteFileSet = "WriteFile";
    private const string EditSet = "Edit";

    /// <summary>Session Python code runs in unless -Session names another.</summary>
    internal const string DefaultPythonSession = "python";

    private volatile SandboxClient? _runningClient;
    private volatile string? _runningSession;

    /// <summary>The sandbox: an object, an id or a name.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [SandboxRefTransformation]
    [ArgumentCompleter(typeof(SandboxNameCompleter))]
    public SandboxRef Sandbox { get; set; } = null!;

    /// <summary>Shell command, run in a session.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = CommandSet)]
    [ValidateNotNullOrEmpty]
    public string Command { get; set; } = "";

    /// <summary>Program and arguments, run once outside any session.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ExecSet)]
    [Alias("Exec")]
    [ValidateNotNullOrEmpty]
    public string[] ArgumentList { get; set; } = [];

    /// <summary>Python code, run in a Python session.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PythonSet)]
    [ValidateNotNullOrEmpty]
    public string Python { get; set; } = "";

    /// <summary>Path of a text file to read.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ReadFileSet)]
    [ValidateNotNullOrEmpty]
    public string ReadFile { get; set; } = "";

    /// <summary>First line to read (1-based).</summary>
    [Parameter(ParameterSetName = ReadFileSet)]
    [ValidateRange(1, int.MaxValue)]
    public int StartLine { get; set; }

    /// <summary>Last line to read (1-based).</summary>
    [Parameter(ParameterSetName = ReadFileSet)]
    [ValidateRange(1, int.MaxValue)]
    public int EndLine { get; set; }

    /// <summary>Path of a file to write.</summary>
    [Parameter(Mandatory = true, ParameterSetName = WriteFileSet)]
    [ValidateNotNullOrEmpty]
    public string WriteFile { get; set; } = "";

    /// <summary>Text to write.</summary>
    [Parameter(Mandatory = true, ParameterSetName = WriteFileSet)]
    [Alias("Value")]
    [AllowEmptyString]
    public string Content { get; set; } = "";

    /// <summary>Path of a file to edit.</summary>
    [Parameter(Mandatory = true, ParameterSetName = EditSet)]
    [ValidateNotNullOrEmpty]
    public string Edit { get; set; } = "";

    /// <summary>Text to replace; must occur exactly once.</summary>
    [Parameter(Mandatory = true, ParameterSetName = EditSet)]
    [ValidateNotNullOrEmpty]
    public string OldText { get; set; } = "";

    /// <summary>Replacement text.</summary>
    [Parameter(Mandatory = true, ParameterSetName = EditSet)]
    [AllowEmptyString]
    public string NewText { get; set; } = "";

    /// <summary>Session to run in.</summary>
    [Parameter(ParameterSetName = CommandSet)]
    [Parameter(ParameterSetName = PythonSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SessionIdCompleter))]
    public string? Session { get; set; }

    /// <summary>Environment variables of the one-shot program.</summary>
    [Parameter(ParameterSetName = ExecSet)]
    public Hashtable? Environment { get; set; }

    /// <summary>Working directory of the one-shot program.</summary>
    [Parameter(ParameterSetName = ExecSet)]
    [ValidateNotNullOrEmpty]
    public string? WorkingDirectory { get; set; }

    /// <summary>Seconds before the action is interrupted.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int TimeoutSec { get; set; }

    /// <summary>Show output lines as they arrive.</summary>
    [Parameter(ParameterSetName = CommandSet)]
    [Parameter(ParameterSetName = ExecSet)]
    [Parameter(ParameterSetName = PythonSet)]
    public SwitchParameter Stream { get; set; }

    /// <summary>Make a non-zero exit code (or a timeout) an error.</summary>
    [Parameter(ParameterSetName = CommandSet)]
    [Parameter(ParameterSetName = ExecSet)]
    [Parameter(ParameterSetName = PythonSet)]
    public SwitchParameter ErrorOnNonZeroExit { get; set; }

    /// <inheritdoc />
    protected override async Task ProcessRecordAsync(CancellationToken cancellationToken)
    {
        SandboxModel sandbox;
        try
        {
            sandbox = await ResolveAsync(Sandbox, cancellationToken).ConfigureAwait(false);
        }
        catch (SandboxException ex) when (!cancellationToken.IsCancellationRequested)
        {
            EmitError(ex, Sandbox.ToString());
            return;
        }
        if (!await ShouldProcessAsync(Describe(sandbox), Describe()).ConfigureAwait(false))
        {
            return;
        }
        try
        {
            var client = await Manager.GetClientAsync(sandbox, cancellationToken).ConfigureAwait(false);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (IsBound(nameof(TimeoutSec)) && ParameterSetName is ReadFileSet or WriteFileSet or EditSet)
            {
                deadline.CancelAfter(TimeSpan.FromSeconds(TimeoutSec));
            }
            var result = await RunAsync(sandbox, client, deadline.Token).ConfigureAwait(false);
            if (ErrorOnNonZeroExit && ActionOutcome.FailureOf(result) is { } failure)
            {
                EmitError(ErrorRecordFactory.Create(failure, result));
                return;
            }
            Emit(result);
        }
        catch (SandboxException ex) when (!cancellationToken.IsCancellationRequested)
        {
            EmitError(ex, sandbox);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            EmitError(new SandboxException(SandboxErrorKind.Timeout, "SandboxActionTimeout",
                $"{ParameterSetName} in sandbox '{sandbox.Name}' did not finish within {TimeoutSec} s.", sandbox.Name, ex)
            {
                RecommendedAction = "Raise -TimeoutSec.",
            }, sandbox);
        }
        finally
        {
            _runningClient = null;
            _runningSession = null;
        }
    }

    /// <summary>Ctrl+C: besides cancelling the call, ask the server to interrupt a running session command.</summary>
    protected override void OnStopping()
    {
        var client = _runningClient;
        var session = _runningSession;
        if (client is null || session is null)
        {
            return;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await client.InterruptAsync(session, budget.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SandboxException or OperationCanceledException or IOException)
            {
                // Best effort: the command may have ended, or the server may be gone.
            }
        });
    }

    private string Describe() => ParameterSetName switch
    {
        CommandSet => $"Run command '{Abbreviate(Command)}'",
        ExecSet => $"Run '{Abbreviate(string.Join(' ', ArgumentList))}'",
        PythonSet => $"Run Python code '{Abbreviate(Python)}'",
        ReadFileSet => $"Read file '{ReadFile}'",
        WriteFileSet => $"Write file '{WriteFile}'",
        _ => $"Edit file '{Edit}'",
    };

    private static string Abbreviate(string text)
    {
        var line = text.ReplaceLineEndings(" ");
        return line.Length > 60 ? line[..57] + "..." : line;
    }

    private double? ServerTimeout => IsBound(nameof(TimeoutSec)) ? TimeoutSec : null;

    private async Task<SandboxActionResult> RunAsync(SandboxModel sandbox, SandboxClient client, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        switch (ParameterSetName)
        {
            case CommandSet:
            {
                var session = Session ?? Sandbox.SessionId;
                var run = await RunInSessionAsync(client, session, Command, ct).ConfigureAwait(false);
                return SandboxActions.FromRun(sandbox, run);
            }
            case PythonSet:
            {
                var session = Session ?? Sandbox.SessionId ?? DefaultPythonSession;
                RunResult run;
                try
                {
                    run = await RunInSessionAsync(client, session, Python, ct).ConfigureAwait(false);
                }
                catch (SandboxException ex) when (ex.ErrorId is ErrorIds.SessionNotFound or ErrorIds.SessionExited && session == DefaultPythonSession)
                {
                    // First Python action in this sandbox, or the interpreter was ended (exit()): start it (again).
                    EmitVerbose($"Starting the Python session '{session}' in {sandbox.Name}.");
                    if (ex.ErrorId == ErrorIds.SessionExited)
                    {
                        await client.DeleteSessionAsync(session, ct).ConfigureAwait(false);
                    }
                    await CreatePythonSessionAsync(client, session, ct).ConfigureAwait(false);
                    run = await RunInSessionAsync(client, session, Python, ct).ConfigureAwait(false);
                }
                return SandboxActions.FromRun(sandbox, run, SessionKinds.Python);
            }
            case ExecSet:
            {
                var request = new ExecRequest
                {
                    Argv = ArgumentList,
                    Cwd = WorkingDirectory,
                    Env = Environment is null ? null : ParameterConversion.ToStringDictionary(Environment, nameof(Environment)),
                    TimeoutSeconds = ServerTimeout,
                };
                if (!Stream)
                {
                    return SandboxActions.FromExec(sandbox, await client.ExecAsync(request, ct).ConfigureAwait(false));
                }
                var result = await ConsumeStreamAsync(client.ExecStreamAsync(request, ct)).ConfigureAwait(false);
                return SandboxActions.FromExec(sandbox, result.Exec ?? throw MissingExit());
            }
            case ReadFileSet:
            {
                var text = await client.ReadTextAsync(ReadFile, IsBound(nameof(StartLine)) ? StartLine : null,
                    IsBound(nameof(EndLine)) ? EndLine : null, ct).ConfigureAwait(false);
                return SandboxActions.FromReadText(sandbox, text, clock.Elapsed);
            }
            case WriteFileSet:
            {
                using var content = new MemoryStream(new UTF8Encoding(false).GetBytes(Content));
                var written = await client.WriteFileAsync(WriteFile, content, ct: ct).ConfigureAwait(false);
                return SandboxActions.FromWrite(sandbox, written, clock.Elapsed);
            }
            default:
            {
                var edit = await client.EditAsync(new EditRequest
                {
                    Command = EditCommands.StrReplace,
                    Path = Edit,
                    OldStr = OldText,
                    NewStr = NewText,
                }, ct).ConfigureAwait(false);
                return SandboxActions.FromEdit(sandbox, edit, clock.Elapsed);
            }
        }
    }

    private async Task<RunResult> RunInSessionAsync(SandboxClient client, string? session, string command, CancellationToken ct)
    {
        var request = new RunRequest { Command = command, TimeoutSeconds = ServerTimeout };
        _runningClient = client;
        _runningSession = session ?? ProtocolConstants.DefaultSessionId;
        try
        {
            return await RunOnceAsync(client, session, request, ct).ConfigureAwait(false);
        }
        catch (SandboxException ex) when (ex.ErrorId == ErrorIds.SessionExited && session is null)
        {
            // An earlier command ran 'exit' in the default session. The server refused this one before
            // running it, so starting a fresh default session and running it there is safe.
            EmitWarning("The default session had exited (an earlier command ran 'exit'); starting a new default session. Its working directory and variables are reset.");
            try
            {
                await client.DeleteSessionAsync(ProtocolConstants.DefaultSessionId, ct).ConfigureAwait(false);
            }
            catch (SandboxException gone) when (gone.ErrorId == ErrorIds.SessionNotFound)
            {
            }
            return await RunOnceAsync(client, session, request, ct).ConfigureAwait(false);
        }
    }

    private async Task<RunResult> RunOnceAsync(SandboxClient client, string? session, RunRequest request, CancellationToken ct)
    {
        if (!Stream)
        {
            return await client.RunAsync(session, request, ct).ConfigureAwait(false);
        }
        var exit = await ConsumeStreamAsync(client.RunStreamAsync(session, request, ct)).ConfigureAwait(false);
        return exit.Run ?? throw MissingExit();
    }

    private static async Task CreatePythonSessionAsync(SandboxClient client, string session, CancellationToken ct)
    {
        try
        {
            await client.CreateSessionAsync(new CreateSessionRequest { Kind = SessionKinds.Python, Id = session }, ct).ConfigureAwait(false);
        }
        catch (SandboxException ex) when (ex.ErrorId == ErrorIds.SessionExists)
        {
            // Another runspace created it first: use it.
        }
    }

    /// <summary>Writes output lines to the host as they complete; returns the exit event.</summary>
    private async Task<StreamEvent> ConsumeStreamAsync(IAsyncEnumerable<StreamEvent> events)
    {
        var stdout = new StreamLineSplitter();
        var stderr = new StreamLineSplitter();
        StreamEvent? exit = null;
        await foreach (var e in events.ConfigureAwait(false))
        {
            switch (e.Type)
            {
                case StreamEventTypes.Output or StreamEventTypes.Stdout:
                    foreach (var line in stdout.Push(e.Data))
                    {
                        EmitHostText(line);
                    }
                    break;
                case StreamEventTypes.Stderr:
                    foreach (var line in stderr.Push(e.Data))
                    {
                        EmitHostText(line);
                    }
                    break;
                case StreamEventTypes.Exit:
                    exit = e;
                    break;
            }
        }
        foreach (var rest in new[] { stdout.Flush(), stderr.Flush() })
        {
            if (rest is not null)
            {
                EmitHostText(rest);
            }
        }
        return exit ?? throw MissingExit();
    }

    private static SandboxException MissingExit() =>
        new(SandboxErrorKind.Internal, "SandboxProtocolError", "The output stream ended without an exit event; the server may have stopped.");
}
