using System.CommandLine;
using SandboxPS.Core;

namespace SandboxPS.Cli.Commands;

internal static class LogsCommand
{
    public static Command Create(CliContext context)
    {
        var sandboxArg = new Argument<string>("SANDBOX") { Description = "Sandbox id, unique id prefix, or name." };
        var tail = new Option<int>("--tail") { Description = "How many of the last lines (default 100).", DefaultValueFactory = _ => 100 };
        var command = new Command("logs",
            "Print the last lines the sandbox's server printed (its log).\n\n" +
            "Examples:\n" +
            "  sandboxps logs work --tail 20");
        command.Arguments.Add(sandboxArg);
        command.Options.Add(tail);
        command.SetAction(CliContext.Guard(context, async (parse, output, ct) =>
        {
            var sandbox = await context.Manager.ResolveAsync(parse.GetValue(sandboxArg)!, null, ct).ConfigureAwait(false);
            if (context.Manager.GetProvider(sandbox.Provider) is not ILogSource logs)
            {
                throw new SandboxException(SandboxErrorKind.NotSupported, "ProviderFeatureNotSupported",
                    $"The {sandbox.Provider} provider cannot show logs.", sandbox.Name);
            }
            var lines = await logs.GetLogsAsync(sandbox.Id, Math.Max(1, parse.GetValue(tail)), ct).ConfigureAwait(false);
            foreach (var line in lines)
            {
                if (output.Json)
                {
                    output.WriteJson(new { sandboxId = sandbox.Id, line });
                }
                else
                {
                    output.Line(line);
                }
            }
            return ExitCodes.Success;
        }));
        return command;
    }
}
