using System.CommandLine;
using SandboxPS.Core;
using SandboxPS.Protocol;

namespace SandboxPS.Cli.Commands;

internal static class ExecCommand
{
    public static Command Create(CliContext context)
    {
        var sandboxArg = new Argument<string>("SANDBOX") { Description = "Sandbox id, unique id prefix, or name." };
        var commandArg = new Argument<string[]>("COMMAND") { Description = "The command; its words are joined by spaces into one shell line.", Arity = ArgumentArity.OneOrMore };
        var session = new Option<string?>("--session") { Description = "Session id (default: the default shell session). In a python session COMMAND is Python code." };
        var timeout = new Option<double?>("--timeout") { Description = "Seconds before the command is interrupted; exit code 124 then." };
        var stdin = StdinOption();
        var command = new Command("exec",
            "Run a command in a sandbox's session, streaming its output; exits with the command's exit code (124 on timeout).\n\n" +
            "Examples:\n" +
            "  sandboxps exec work -- ls -la /tmp\n" +
            "  sandboxps exec work --timeout 10 -- 'make test 2>&1 | tail -n 20'\n" +
            "  sandboxps exec -i work -- 'python3 - --verbose' < script.py\n" +
            "  sandboxps exec work --session py1 -- 'x = 21 * 2; x'");
        command.Arguments.Add(sandboxArg);
        command.Arguments.Add(commandArg);
        command.Options.Add(session);
        command.Options.Add(timeout);
        command.Options.Add(stdin);
        command.SetAction(CliContext.Guard(context, async (parse, output, ct) =>
        {
            var words = parse.GetValue(commandArg) ?? [];
            var seconds = ValidateTimeout(parse.GetValue(timeout));
            var sandbox = await context.ResolveRunningAsync(parse.GetValue(sandboxArg)!, ct).ConfigureAwait(false);
            return await RunInSandboxAsync(context, output, sandbox, parse.GetValue(session), JoinCommand(words), seconds,
                parse.GetValue(stdin) ? context.OpenStdin() : null, ct).ConfigureAwait(false);
        }));
        return command;
    }

    /// <summary><c>-i</c>/<c>--stdin</c>, shared by exec and run.</summary>
    internal static Option<bool> StdinOption() => new("--stdin", "-i")
    {
        Description = "Give COMMAND this program's standard input (read to its end first, then copied into the sandbox byte " +
                      "for byte). Without it COMMAND reads the session's terminal, which only POST .../input feeds.",
    };

    internal static string JoinCommand(IReadOnlyList<string> words)
    {
        var line = string.Join(' ', words);
        if (string.IsNullOrWhiteSpace(line))
        {
            throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidCommandLine,
                "No command given.", "COMMAND")
            {
                RecommendedAction = "Put the command after '--', e.g. sandboxps exec SANDBOX -- echo hello",
            };
        }
        return line;
    }

    internal static double? ValidateTimeout(double? seconds)
    {
        if (seconds is { } s && (s <= 0 || double.IsNaN(s) || double.IsInfinity(s)))
        {
            throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidDuration,
                $"--timeout: {s} is not a positive number of seconds.", "--timeout");
        }
        return seconds;
    }

    /// <summary>
    /// Runs <paramref name="commandLine"/> in a session; streams text output, or prints one JSON result with --json.
    /// When the default session has ended (an earlier <c>exit</c>), it is replaced once, with a note on stderr.
    /// </summary>
    internal static async Task<int> RunInSandboxAsync(CliContext context, CliOutput output, Sandbox sandbox, string? sessionId,
                                                      string commandLine, double? timeoutSeconds, Stream? stdin, CancellationToken ct)
    {
        if (stdin is not null)
        {
            var client = await context.Manager.GetClientAsync(sandbox, ct).ConfigureAwait(false);
            if (sessionId is not null && (await client.GetSessionAsync(sessionId, ct).ConfigureAwait(false)).Kind != SessionKinds.Shell)
            {
                throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidCommandLine,
                    $"--stdin feeds a shell command; session '{sessionId}' runs Python code.", "--stdin")
                {
                    RecommendedAction = "Drop --stdin, or run the command in a shell session (omit --session for the default one).",
                };
            }
            var staged = await StdinStaging.UploadAsync(client, stdin, ct).ConfigureAwait(false);
            try
            {
                return await RunWithRetryAsync(context, output, sandbox, sessionId, StdinStaging.Wrap(commandLine, staged), timeoutSeconds, ct).ConfigureAwait(false);
            }
            finally
            {
                // The command unlinks it when it starts; this covers a run that never started.
                await StdinStaging.DeleteAsync(client, staged).ConfigureAwait(false);
            }
        }
        return await RunWithRetryAsync(context, output, sandbox, sessionId, commandLine, timeoutSeconds, ct).ConfigureAwait(false);
    }

    private static async Task<int> RunWithRetryAsync(CliContext context, CliOutput output, Sandbox sandbox, string? sessionId,
                                                     string commandLine, double? timeoutSeconds, CancellationToken ct)
    {
        try
        {
            return await RunOnceAsync(context, output, sandbox, sessionId, commandLine, timeoutSeconds, ct).ConfigureAwait(false);
        }
        catch (SandboxException ex) when (sessionId is null && ex.ErrorId == ErrorIds.SessionExited)
        {
            var client = await context.Manager.GetClientAsync(sandbox, ct).ConfigureAwait(false);
            try
            {
                await client.DeleteSessionAsync(ProtocolConstants.DefaultSessionId, ct).ConfigureAwait(false);
            }
            catch (SandboxException gone) when (gone.Kind == SandboxErrorKind.NotFound)
            {
                // Already replaced by someone else.
            }
            output.Err.WriteLine("sandboxps: the default session had ended (exit); started a new one.");
            return await RunOnceAsync(context, output, sandbox, sessionId, commandLine, timeoutSeconds, ct).ConfigureAwait(false);
        }
    }

    private static async Task<int> RunOnceAsync(CliContext context, CliOutput output, Sandbox sandbox, string? sessionId,
                                                string commandLine, double? timeoutSeconds, CancellationToken ct)
    {
        var client = await context.Manager.GetClientAsync(sandbox, ct).ConfigureAwait(false);
        var request = new RunRequest { Command = commandLine, TimeoutSeconds = timeoutSeconds };
        try
        {
            if (output.Json)
            {
                var kind = sessionId is null ? SessionKinds.Shell : (await client.GetSessionAsync(sessionId, ct).ConfigureAwait(false)).Kind;
                var result = await client.RunAsync(sessionId, request, ct).ConfigureAwait(false);
                output.WriteJson(CliOutput.View(SandboxActions.FromRun(sandbox, result, kind)));
                return ExitCodeOf(result);
            }
            RunResult? final = null;
            await foreach (var evt in client.RunStreamAsync(sessionId, request, ct).ConfigureAwait(false))
            {
                if (evt.Type == StreamEventTypes.Exit)
                {
                    final = evt.Run;
                }
                else if (evt.Data is { Length: > 0 } data)
                {
                    var writer = evt.Type == StreamEventTypes.Stderr ? output.Err : output.Out;
                    writer.Write(data);
                    writer.Flush();
                }
            }
            if (final is null)
            {
                throw new SandboxException(SandboxErrorKind.Internal, SandboxErrorIds.SandboxProtocolError,
                    "The sandbox server's stream ended without a result.", sandbox.Name);
            }
            if (final.TimedOut)
            {
                output.Err.WriteLine($"sandboxps: the command timed out after {timeoutSeconds}s and was interrupted.");
            }
            return ExitCodeOf(final);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Ctrl-C: interrupt the command in the sandbox, as a terminal would, then report the interruption.
            using var grace = new CancellationTokenSource(InterruptGrace);
            try
            {
                await client.InterruptAsync(sessionId, grace.Token).ConfigureAwait(false);
                // Leave only once the command has ended, so the next exec does not find the session busy.
                while ((await client.GetSessionAsync(sessionId ?? ProtocolConstants.DefaultSessionId, grace.Token).ConfigureAwait(false)).Busy)
                {
                    await Task.Delay(25, grace.Token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is SandboxException or OperationCanceledException)
            {
                // Nothing running any more, the sandbox is gone, or the command outlived the grace period.
            }
            throw;
        }
    }

    /// <summary>How long Ctrl-C waits for the interrupted command to end before sandboxps exits anyway.</summary>
    internal static readonly TimeSpan InterruptGrace = TimeSpan.FromSeconds(3);

    private static int ExitCodeOf(RunResult result) => result.TimedOut ? ExitCodes.TimedOut : result.ExitCode;
}
