using System.CommandLine;
using SandboxPS.Core;

namespace SandboxPS.Cli.Commands;

internal static class RunCommand
{
    public static Command Create(CliContext context)
    {
        var spec = new SpecOptions();
        var commandArg = new Argument<string[]>("COMMAND") { Description = "The command; its words are joined by spaces into one shell line.", Arity = ArgumentArity.OneOrMore };
        var timeout = new Option<double?>("--timeout") { Description = "Seconds before the command is interrupted; exit code 124 then." };
        var stdin = ExecCommand.StdinOption();
        var command = new Command("run",
            "Create a sandbox, run one command in it (streaming its output), and remove it; exits with the command's exit code.\n\n" +
            "Examples:\n" +
            "  sandboxps run -- echo hello\n" +
            "  sandboxps run --env GREETING=hi -- 'echo $GREETING from $(pwd)'\n" +
            "  sandboxps run --provider docker --image sandboxps/python:3.11-bookworm -- python3 -c 'print(6*7)'\n" +
            "  sandboxps run -i -- sort -u < names.txt");
        spec.AddTo(command);
        command.Options.Add(timeout);
        command.Options.Add(stdin);
        command.Arguments.Add(commandArg);
        command.SetAction(CliContext.Guard(context, async (parse, output, cancellationToken) =>
        {
            var line = ExecCommand.JoinCommand(parse.GetValue(commandArg) ?? []);
            var seconds = ExecCommand.ValidateTimeout(parse.GetValue(timeout));
            var input = parse.GetValue(stdin) ? context.OpenStdin() : null;
            var sandbox = await NewCommand.CreateAsync(context, spec, parse, wait: true, cancellationToken).ConfigureAwait(false);
            try
            {
                return await ExecCommand.RunInSandboxAsync(context, output, sandbox, null, line, seconds, input, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try
                {
                    await context.Manager.RemoveAsync(sandbox, cleanup.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is SandboxException or OperationCanceledException)
                {
                    output.Warn($"could not remove sandbox {sandbox.Name} ({sandbox.Id}): {ex.Message}");
                }
            }
        }));
        return command;
    }
}
