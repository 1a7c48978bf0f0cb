using System.CommandLine;
using SandboxPS.Core;

namespace SandboxPS.Cli.Commands;

internal static class EditCommand
{
    public static Command Create(CliContext context)
    {
        var sandboxArg = new Argument<string>("SANDBOX") { Description = "Sandbox id, unique id prefix, or name." };
        var pathArg = new Argument<string>("PATH") { Description = "File to edit (absolute, or relative to the sandbox's working directory)." };
        var oldText = new Option<string>("--old") { Description = "Exact text to replace; must occur exactly once.", Required = true };
        var newText = new Option<string>("--new") { Description = "Replacement text.", Required = true };
        var command = new Command("edit",
            "Replace exactly one occurrence of --old with --new in a file and print the diff (EditNoMatch / EditAmbiguous otherwise).\n\n" +
            "Examples:\n" +
            "  sandboxps edit work app.py --old 'DEBUG = True' --new 'DEBUG = False'");
        command.Arguments.Add(sandboxArg);
        command.Arguments.Add(pathArg);
        command.Options.Add(oldText);
        command.Options.Add(newText);
        command.SetAction(CliContext.Guard(context, async (parse, output, cancellationToken) =>
        {
            var sandbox = await context.ResolveRunningAsync(parse.GetValue(sandboxArg)!, cancellationToken).ConfigureAwait(false);
            var client = await context.Manager.GetClientAsync(sandbox, cancellationToken).ConfigureAwait(false);
            var edit = await new SandboxActionRunner(sandbox, client, names: ExecCommand.Names)
                .EditAsync(parse.GetValue(pathArg)!, parse.GetValue(oldText) ?? "", parse.GetValue(newText) ?? "", timeout: null, cancellationToken)
                .ConfigureAwait(false);
            if (output.Json)
            {
                var r = edit.Response;
                output.WriteJson(new EditView(sandbox.Id, sandbox.Name, r.Path, r.Command, r.Output, r.Diff));
            }
            else
            {
                var text = edit.Result.Output;
                output.Out.Write(text.EndsWith('\n') ? text : text + "\n");
                output.Out.Flush();
            }
            return ExitCodes.Success;
        }));
        return command;
    }
}
