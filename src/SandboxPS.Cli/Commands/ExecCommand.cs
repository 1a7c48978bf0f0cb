using System.CommandLine;
using SandboxPS.Core;

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
        command.SetAction(CliContext.Guard(context, async (parse, output, cancellationToken) =>
        {
            var words = parse.GetValue(commandArg) ?? [];
            var seconds = ValidateTimeout(parse.GetValue(timeout));
            var sandbox = await context.ResolveRunningAsync(parse.GetValue(sandboxArg)!, cancellationToken).ConfigureAwait(false);
            return await RunInSandboxAsync(context, output, sandbox, parse.GetValue(session), JoinCommand(words), seconds,
                parse.GetValue(stdin) ? context.OpenStdin() : null, cancellationToken).ConfigureAwait(false);
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
    /// Runs <paramref name="commandLine"/> in a session through the core's action runner; streams text output,
    /// or prints one JSON result with --json. Returns the command's exit code (124 on timeout).
    /// </summary>
    internal static async Task<int> RunInSandboxAsync(CliContext context, CliOutput output, Sandbox sandbox, string? sessionId,
                                                      string commandLine, double? timeoutSeconds, Stream? stdin, CancellationToken cancellationToken)
    {
        var client = await context.Manager.GetClientAsync(sandbox, cancellationToken).ConfigureAwait(false);
        var runner = new SandboxActionRunner(sandbox, client, new CliActionObserver(output), Names);
        var result = await runner.RunAsync(new SessionAction
        {
            Code = commandLine,
            SessionId = sessionId,
            TimeoutSeconds = timeoutSeconds,
            Stream = !output.Json,
            Stdin = stdin,
        }, cancellationToken).ConfigureAwait(false);
        if (output.Json)
        {
            output.WriteJson(CliOutput.View(result));
        }
        else if (result.TimedOut)
        {
            output.Err.WriteLine($"sandboxps: the command timed out after {timeoutSeconds}s and was interrupted.");
        }
        return result.TimedOut ? ExitCodes.TimedOut : result.ExitCode;
    }

    /// <summary>How the runner names this command's options in its messages.</summary>
    internal static readonly SandboxActionNames Names = new() { Timeout = "--timeout", Stdin = "--stdin", Session = "--session" };

    /// <summary>Streamed output straight to stdout/stderr as it arrives; the runner's notices on stderr.</summary>
    private sealed class CliActionObserver(CliOutput output) : ISandboxActionObserver
    {
        public void OnOutput(bool isError, string text)
        {
            var writer = isError ? output.Err : output.Out;
            writer.Write(text);
            writer.Flush();
        }

        public void OnNotice(SandboxActionNotice notice)
        {
            if (notice.Kind == SandboxActionNoticeKind.DefaultSessionReplaced)
            {
                output.Err.WriteLine("sandboxps: " + notice.Message);
            }
        }
    }
}
