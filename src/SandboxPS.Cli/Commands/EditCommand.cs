using System.CommandLine;
using SandboxPS.Core;
using SandboxPS.Protocol;

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
        command.SetAction(CliContext.Guard(context, async (parse, output, ct) =>
        {
            var sandbox = await context.ResolveRunningAsync(parse.GetValue(sandboxArg)!, ct).ConfigureAwait(false);
            var client = await context.Manager.GetClientAsync(sandbox, ct).ConfigureAwait(false);
            var result = await client.EditAsync(new EditRequest
            {
                Command = EditCommands.StrReplace,
                Path = parse.GetValue(pathArg)!,
                OldStr = parse.GetValue(oldText) ?? "",
                NewStr = parse.GetValue(newText) ?? "",
            }, ct).ConfigureAwait(false);
            if (output.Json)
            {
                output.WriteJson(new EditView(sandbox.Id, sandbox.Name, result.Path, result.Command, result.Output, result.Diff));
            }
            else
            {
                var text = string.IsNullOrEmpty(result.Diff) ? result.Output : result.Diff;
                output.Out.Write(text.EndsWith('\n') ? text : text + "\n");
                output.Out.Flush();
            }
            return ExitCodes.Success;
        }));
        return command;
    }
}
