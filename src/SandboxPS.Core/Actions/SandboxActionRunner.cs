using System.Diagnostics;
using System.Text;
using SandboxPS.Protocol;

namespace SandboxPS.Core;

/// <summary>
/// Runs actions in one sandbox with every rule the front ends share: which session a command runs in,
/// replacing a default session that an earlier <c>exit</c> ended, starting the default Python session,
/// standard input, streaming, interrupt-then-wait on cancellation, and timeouts of file actions.
/// Invoke-SandboxAction and <c>sandboxps exec</c> only bind input to these calls and render the results.
/// </summary>
/// <remarks>CLI equivalent: <c>sandboxps exec SANDBOX -- COMMAND</c>, <c>sandboxps edit</c>.</remarks>
public sealed class SandboxActionRunner
{
    /// <summary>The session Python code runs in unless another is named.</summary>
    public const string DefaultPythonSession = "python";

    /// <summary>How long a cancelled session command gets, after the interrupt, to end before the call returns anyway.</summary>
    public static readonly TimeSpan DefaultInterruptGrace = TimeSpan.FromSeconds(3);

    private static readonly ISandboxActionObserver Silent = new NullObserver();

    private readonly Sandbox _sandbox;
    private readonly SandboxClient _client;
    private readonly ISandboxActionObserver _observer;
    private readonly SandboxActionNames _names;

    /// <summary>A runner for <paramref name="sandbox"/> through <paramref name="client"/>.</summary>
    /// <param name="sandbox">The sandbox (names the results).</param>
    /// <param name="client">Its server's client (see <see cref="SandboxManager.GetClientAsync"/>).</param>
    /// <param name="observer">Receives streamed output and notices; null ignores them.</param>
    /// <param name="names">The front end's parameter names, for messages.</param>
    public SandboxActionRunner(Sandbox sandbox, SandboxClient client, ISandboxActionObserver? observer = null, SandboxActionNames? names = null)
    {
        _sandbox = sandbox ?? throw new ArgumentNullException(nameof(sandbox));
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _observer = observer ?? Silent;
        _names = names ?? new SandboxActionNames();
    }

    /// <summary>How long a cancelled session command gets to end after the interrupt (<see cref="DefaultInterruptGrace"/>).</summary>
    public TimeSpan InterruptGrace { get; init; } = DefaultInterruptGrace;

    /// <summary>
    /// Runs <paramref name="action"/> in its session. On cancellation the command in the sandbox is interrupted
    /// (as Ctrl+C in a terminal would) and the call waits, up to <see cref="InterruptGrace"/>, until the session
    /// is idle, so the next command does not find it busy; then the cancellation is rethrown.
    /// </summary>
    /// <exception cref="SandboxException">InvalidArgument/<c>InvalidCommandLine</c> for standard input to a Python session; server errors.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public async Task<SandboxActionResult> RunAsync(SessionAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        var session = action.SessionId ?? (action.Python ? DefaultPythonSession : null);
        var kind = action.Python ? SessionKinds.Python : SessionKinds.Shell;
        if (!action.Python && session is not null)
        {
            kind = (await _client.GetSessionAsync(session, cancellationToken).ConfigureAwait(false)).Kind;
        }
        if (action.Stdin is null)
        {
            return await RunInSessionAsync(action, session, action.Code, kind, cancellationToken).ConfigureAwait(false);
        }
        if (kind != SessionKinds.Shell)
        {
            throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidCommandLine,
                $"{_names.Stdin} feeds a shell command; session '{session}' runs Python code.", _names.Stdin)
            {
                RecommendedAction = $"Drop {_names.Stdin}, or run the command in a shell session (leave out {_names.Session} for the default one).",
            };
        }
        var staged = await StdinStaging.UploadAsync(_client, action.Stdin, cancellationToken).ConfigureAwait(false);
        try
        {
            return await RunInSessionAsync(action, session, StdinStaging.Wrap(action.Code, staged), kind, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // The command unlinks it when it starts; this covers a run that never started.
            await StdinStaging.DeleteAsync(_client, staged).ConfigureAwait(false);
        }
    }

    /// <summary>Runs a program once, outside any session; with <paramref name="stream"/> its output reaches the observer as it arrives.</summary>
    /// <exception cref="SandboxException">Server errors (for example <c>ExecNotFound</c>).</exception>
    public async Task<SandboxActionResult> ExecAsync(ExecRequest request, bool stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!stream)
        {
            return SandboxActions.FromExec(_sandbox, await _client.ExecAsync(request, cancellationToken).ConfigureAwait(false));
        }
        var exit = await ForwardAsync(_client.ExecStreamAsync(request, cancellationToken)).ConfigureAwait(false);
        return SandboxActions.FromExec(_sandbox, exit.Exec ?? throw MissingExit());
    }

    /// <summary>Reads a text file (lines <paramref name="startLine"/> to <paramref name="endLine"/>, 1-based, when given).</summary>
    /// <exception cref="SandboxException">Timeout/<c>SandboxActionTimeout</c> when <paramref name="timeout"/> passes; server errors.</exception>
    public Task<SandboxActionResult> ReadFileAsync(string path, int? startLine, int? endLine, TimeSpan? timeout, CancellationToken cancellationToken) =>
        WithinAsync(SandboxActions.ReadFile, timeout, cancellationToken, async (ct, clock) =>
            SandboxActions.FromReadText(_sandbox, await _client.ReadTextAsync(path, startLine, endLine, ct).ConfigureAwait(false), clock.Elapsed));

    /// <summary>Writes <paramref name="content"/> (UTF-8, no BOM) to a file, replacing it.</summary>
    /// <exception cref="SandboxException">Timeout/<c>SandboxActionTimeout</c> when <paramref name="timeout"/> passes; server errors.</exception>
    public Task<SandboxActionResult> WriteFileAsync(string path, string content, TimeSpan? timeout, CancellationToken cancellationToken) =>
        WithinAsync(SandboxActions.WriteFile, timeout, cancellationToken, async (ct, clock) =>
        {
            using var body = new MemoryStream(new UTF8Encoding(false).GetBytes(content));
            var written = await _client.WriteFileAsync(path, body, ct: ct).ConfigureAwait(false);
            return SandboxActions.FromWrite(_sandbox, written, clock.Elapsed);
        });

    /// <summary>Replaces the one occurrence of <paramref name="oldText"/> in a file with <paramref name="newText"/>.</summary>
    /// <exception cref="SandboxException"><c>EditNoMatch</c>, <c>EditAmbiguous</c>; Timeout/<c>SandboxActionTimeout</c>; server errors.</exception>
    public async Task<SandboxEditResult> EditAsync(string path, string oldText, string newText, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        EditResponse? response = null;
        var result = await WithinAsync(SandboxActions.Edit, timeout, cancellationToken, async (ct, clock) =>
        {
            response = await _client.EditAsync(new EditRequest
            {
                Command = EditCommands.StrReplace,
                Path = path,
                OldStr = oldText,
                NewStr = newText,
            }, ct).ConfigureAwait(false);
            return SandboxActions.FromEdit(_sandbox, response, clock.Elapsed);
        }).ConfigureAwait(false);
        return new SandboxEditResult(result, response!);
    }

    private async Task<SandboxActionResult> RunInSessionAsync(SessionAction action, string? session, string code, string kind, CancellationToken cancellationToken)
    {
        var request = new RunRequest { Command = code, TimeoutSeconds = action.TimeoutSeconds };
        RunResult run;
        try
        {
            run = await RunReplacingDefaultAsync(session, request, action.Stream, cancellationToken).ConfigureAwait(false);
        }
        catch (SandboxException ex) when (action.Python && session == DefaultPythonSession
                                          && ex.ErrorId is ErrorIds.SessionNotFound or ErrorIds.SessionExited)
        {
            // First Python action in this sandbox, or the interpreter was ended (exit()): start it (again).
            _observer.OnNotice(new SandboxActionNotice(SandboxActionNoticeKind.PythonSessionStarted,
                $"Starting the Python session '{session}' in {_sandbox.Name}."));
            if (ex.ErrorId == ErrorIds.SessionExited)
            {
                await DeleteIfPresentAsync(session, cancellationToken).ConfigureAwait(false);
            }
            await CreatePythonSessionAsync(session, cancellationToken).ConfigureAwait(false);
            run = await RunInterruptibleAsync(session, request, action.Stream, cancellationToken).ConfigureAwait(false);
        }
        return SandboxActions.FromRun(_sandbox, run, kind);
    }

    private async Task<RunResult> RunReplacingDefaultAsync(string? session, RunRequest request, bool stream, CancellationToken cancellationToken)
    {
        try
        {
            return await RunInterruptibleAsync(session, request, stream, cancellationToken).ConfigureAwait(false);
        }
        catch (SandboxException ex) when (session is null && ex.ErrorId == ErrorIds.SessionExited)
        {
            // An earlier command ran 'exit' in the default session. The server refused this one before
            // running it, so starting a fresh default session and running it there is safe.
            await DeleteIfPresentAsync(ProtocolConstants.DefaultSessionId, cancellationToken).ConfigureAwait(false);
            _observer.OnNotice(new SandboxActionNotice(SandboxActionNoticeKind.DefaultSessionReplaced,
                "The default session had ended (an earlier command ran 'exit'); started a new one, with a fresh working directory and variables."));
            return await RunInterruptibleAsync(session, request, stream, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<RunResult> RunInterruptibleAsync(string? session, RunRequest request, bool stream, CancellationToken cancellationToken)
    {
        try
        {
            if (!stream)
            {
                return await _client.RunAsync(session, request, cancellationToken).ConfigureAwait(false);
            }
            var exit = await ForwardAsync(_client.RunStreamAsync(session, request, cancellationToken)).ConfigureAwait(false);
            return exit.Run ?? throw MissingExit();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await InterruptAndWaitAsync(session ?? ProtocolConstants.DefaultSessionId).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Interrupts the session's command, then waits (bounded) until the session is idle.</summary>
    private async Task InterruptAndWaitAsync(string session)
    {
        using var grace = new CancellationTokenSource(InterruptGrace);
        try
        {
            await _client.InterruptAsync(session, grace.Token).ConfigureAwait(false);
            while ((await _client.GetSessionAsync(session, grace.Token).ConfigureAwait(false)).Busy)
            {
                await Task.Delay(25, grace.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is SandboxException or OperationCanceledException or IOException or HttpRequestException)
        {
            // Nothing running any more, the sandbox is gone, or the command outlived the grace period.
        }
    }

    private async Task DeleteIfPresentAsync(string session, CancellationToken cancellationToken)
    {
        try
        {
            await _client.DeleteSessionAsync(session, cancellationToken).ConfigureAwait(false);
        }
        catch (SandboxException gone) when (gone.ErrorId == ErrorIds.SessionNotFound)
        {
            // Already replaced by another caller. Only this id: any other failure (the sandbox gone, a
            // refused token) must surface rather than be mistaken for "already deleted".
        }
    }

    private async Task CreatePythonSessionAsync(string session, CancellationToken cancellationToken)
    {
        try
        {
            await _client.CreateSessionAsync(new CreateSessionRequest { Kind = SessionKinds.Python, Id = session }, cancellationToken).ConfigureAwait(false);
        }
        catch (SandboxException ex) when (ex.ErrorId == ErrorIds.SessionExists)
        {
            // Another caller created it first: use it.
        }
    }

    /// <summary>Hands output chunks to the observer as they arrive; returns the exit event.</summary>
    private async Task<StreamEvent> ForwardAsync(IAsyncEnumerable<StreamEvent> events)
    {
        StreamEvent? exit = null;
        await foreach (var e in events.ConfigureAwait(false))
        {
            if (e.Type == StreamEventTypes.Exit)
            {
                exit = e;
            }
            else if (e.Data is { Length: > 0 } data)
            {
                _observer.OnOutput(e.Type == StreamEventTypes.Stderr, data);
            }
        }
        return exit ?? throw MissingExit();
    }

    private async Task<SandboxActionResult> WithinAsync(string action, TimeSpan? timeout, CancellationToken cancellationToken,
                                                       Func<CancellationToken, Stopwatch, Task<SandboxActionResult>> body)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } limit)
        {
            deadline.CancelAfter(limit);
        }
        try
        {
            return await body(deadline.Token, Stopwatch.StartNew()).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && timeout is not null)
        {
            throw new SandboxException(SandboxErrorKind.Timeout, SandboxErrorIds.SandboxActionTimeout,
                $"{action} in sandbox '{_sandbox.Name}' did not finish within {timeout.Value.TotalSeconds:0.###} s.", _sandbox.Name, ex)
            {
                RecommendedAction = $"Raise {_names.Timeout}.",
            };
        }
    }

    private SandboxException MissingExit() =>
        new(SandboxErrorKind.Internal, SandboxErrorIds.SandboxProtocolError,
            "The sandbox server's output stream ended without an exit event; the server may have stopped.", _sandbox.Name);

    private sealed class NullObserver : ISandboxActionObserver
    {
        public void OnOutput(bool isError, string text)
        {
        }

        public void OnNotice(SandboxActionNotice notice)
        {
        }
    }
}
