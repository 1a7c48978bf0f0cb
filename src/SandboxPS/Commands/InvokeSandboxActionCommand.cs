using System.Collections;
using System.Management.Automation;
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

    /// <summary>How the action runner names this cmdlet's parameters in its messages.</summary>
    private static readonly SandboxActionNames Names = new() { Timeout = "-TimeoutSec", Session = "-Session" };

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
        var observer = new HostObserver(this);
        try
        {
            var client = await Manager.GetClientAsync(sandbox, cancellationToken).ConfigureAwait(false);
            // Ctrl+C: the runner interrupts the command and waits for the session to be idle, within the
            // time the pipeline gives a stopped body to unwind.
            var runner = new SandboxActionRunner(sandbox, client, observer, Names) { InterruptGrace = PipelinePump.DrainGrace * 0.75 };
            var result = await RunAsync(runner, cancellationToken).ConfigureAwait(false);
            observer.Flush();
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

    private TimeSpan? FileTimeout => IsBound(nameof(TimeoutSec)) ? TimeSpan.FromSeconds(TimeoutSec) : null;

    private async Task<SandboxActionResult> RunAsync(SandboxActionRunner runner, CancellationToken cancellationToken) => ParameterSetName switch
    {
        CommandSet => await runner.RunAsync(new SessionAction
        {
            Code = Command,
            SessionId = Session ?? Sandbox.SessionId,
            TimeoutSeconds = ServerTimeout,
            Stream = Stream,
        }, cancellationToken).ConfigureAwait(false),
        PythonSet => await runner.RunAsync(new SessionAction
        {
            Code = Python,
            Python = true,
            SessionId = Session ?? Sandbox.SessionId,
            TimeoutSeconds = ServerTimeout,
            Stream = Stream,
        }, cancellationToken).ConfigureAwait(false),
        ExecSet => await runner.ExecAsync(new ExecRequest
        {
            Argv = ArgumentList,
            Cwd = WorkingDirectory,
            Env = Environment is null ? null : ParameterConversion.ToStringDictionary(Environment, nameof(Environment)),
            TimeoutSeconds = ServerTimeout,
        }, Stream, cancellationToken).ConfigureAwait(false),
        ReadFileSet => await runner.ReadFileAsync(ReadFile, IsBound(nameof(StartLine)) ? StartLine : null,
            IsBound(nameof(EndLine)) ? EndLine : null, FileTimeout, cancellationToken).ConfigureAwait(false),
        WriteFileSet => await runner.WriteFileAsync(WriteFile, Content, FileTimeout, cancellationToken).ConfigureAwait(false),
        _ => (await runner.EditAsync(Edit, OldText, NewText, FileTimeout, cancellationToken).ConfigureAwait(false)).Result,
    };

    /// <summary>Streamed output as host text, one line at a time; the runner's notices as a warning or verbose text.</summary>
    private sealed class HostObserver(InvokeSandboxActionCommand cmdlet) : ISandboxActionObserver
    {
        private readonly StreamLineSplitter _stdout = new();
        private readonly StreamLineSplitter _stderr = new();

        public void OnOutput(bool isError, string text)
        {
            foreach (var line in (isError ? _stderr : _stdout).Push(text))
            {
                cmdlet.EmitHostText(line);
            }
        }

        public void OnNotice(SandboxActionNotice notice)
        {
            if (notice.Kind == SandboxActionNoticeKind.DefaultSessionReplaced)
            {
                cmdlet.EmitWarning(notice.Message);
            }
            else
            {
                cmdlet.EmitVerbose(notice.Message);
            }
        }

        /// <summary>The last, unterminated line of each stream.</summary>
        public void Flush()
        {
            foreach (var rest in new[] { _stdout.Flush(), _stderr.Flush() })
            {
                if (rest is not null)
                {
                    cmdlet.EmitHostText(rest);
                }
            }
        }
    }
}
