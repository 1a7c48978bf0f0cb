using System.CommandLine;
using SandboxPS.Core;
using SandboxPS.Protocol;

namespace SandboxPS.Cli.Commands;

internal static class SessionCommands
{
    public static Command Create(CliContext context)
    {
        var command = new Command("session",
            "Manage sessions (persistent shells or python interpreters) in a sandbox.\n\n" +
            "Examples:\n" +
            "  sandboxps session new work --kind python\n" +
            "  sandboxps session ls work\n" +
            "  sandboxps session rm work s-1");
        command.Subcommands.Add(CreateNew(context));
        command.Subcommands.Add(CreateList(context));
        command.Subcommands.Add(CreateRemove(context));
        return command;
    }

    private static Command CreateNew(CliContext context)
    {
        var sandboxArg = new Argument<string>("SANDBOX") { Description = "Sandbox id, unique id prefix, or name." };
        var kind = new Option<string>("--kind") { Description = "shell (default) or python.", DefaultValueFactory = _ => SessionKinds.Shell };
        kind.AcceptOnlyFromAmong(SessionKinds.Shell, SessionKinds.Python);
        var id = new Option<string?>("--id") { Description = "Session id to use (letters, digits, '-', '_', '.'); generated when left out." };
        var cwd = new Option<string?>("--cwd") { Description = "Working directory of the session." };
        var command = new Command("new",
            "Create a session; prints its id and kind.\n\n" +
            "Examples:\n" +
            "  sandboxps session new work\n" +
            "  sid=$(sandboxps session new work --kind python | cut -f1)\n" +
            "  sandboxps exec work --session \"$sid\" -- 'import sys; sys.version'");
        command.Arguments.Add(sandboxArg);
        command.Options.Add(kind);
        command.Options.Add(id);
        command.Options.Add(cwd);
        command.SetAction(CliContext.Guard(context, async (parse, output, ct) =>
        {
            var sandbox = await context.ResolveRunningAsync(parse.GetValue(sandboxArg)!, ct).ConfigureAwait(false);
            var client = await context.Manager.GetClientAsync(sandbox, ct).ConfigureAwait(false);
            var info = await client.CreateSessionAsync(new CreateSessionRequest
            {
                Kind = parse.GetValue(kind),
                Id = parse.GetValue(id),
                Cwd = parse.GetValue(cwd),
            }, ct).ConfigureAwait(false);
            var session = SandboxActions.ToSession(sandbox, info);
            if (output.Json)
            {
                output.WriteJson(session);
            }
            else
            {
                output.Line($"{session.Id}\t{session.Kind}");
            }
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command CreateList(CliContext context)
    {
        var sandboxArg = new Argument<string>("SANDBOX") { Description = "Sandbox id, unique id prefix, or name." };
        var command = new Command("ls",
            "List a sandbox's sessions.\n\n" +
            "Examples:\n" +
            "  sandboxps session ls work\n" +
            "  sandboxps session ls work --json");
        command.Aliases.Add("list");
        command.Arguments.Add(sandboxArg);
        command.SetAction(CliContext.Guard(context, async (parse, output, ct) =>
        {
            var sandbox = await context.ResolveRunningAsync(parse.GetValue(sandboxArg)!, ct).ConfigureAwait(false);
            var client = await context.Manager.GetClientAsync(sandbox, ct).ConfigureAwait(false);
            var sessions = await client.ListSessionsAsync(ct).ConfigureAwait(false);
            if (output.Json)
            {
                foreach (var info in sessions)
                {
                    output.WriteJson(SandboxActions.ToSession(sandbox, info));
                }
            }
            else
            {
                output.Table(["ID", "KIND", "BUSY", "CWD", "CREATED"],
                    sessions.Select(s => (IReadOnlyList<string>)[s.Id, s.Kind, s.Busy ? "yes" : "no", s.Cwd ?? "-", CliOutput.Ago(s.CreatedAt)]).ToList());
            }
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command CreateRemove(CliContext context)
    {
        var sandboxArg = new Argument<string>("SANDBOX") { Description = "Sandbox id, unique id prefix, or name." };
        var idArg = new Argument<string>("ID") { Description = "Session id." };
        var command = new Command("rm",
            "Remove a session (ends its shell or interpreter).\n\n" +
            "Examples:\n" +
            "  sandboxps session rm work py1");
        command.Arguments.Add(sandboxArg);
        command.Arguments.Add(idArg);
        command.SetAction(CliContext.Guard(context, async (parse, output, ct) =>
        {
            var sandbox = await context.ResolveRunningAsync(parse.GetValue(sandboxArg)!, ct).ConfigureAwait(false);
            var client = await context.Manager.GetClientAsync(sandbox, ct).ConfigureAwait(false);
            var id = parse.GetValue(idArg)!;
            await client.DeleteSessionAsync(id, ct).ConfigureAwait(false);
            if (output.Json)
            {
                output.WriteJson(new SessionRemovedView(sandbox.Id, id, true));
            }
            else
            {
                output.Line(id);
            }
            return ExitCodes.Success;
        }));
        return command;
    }
}
