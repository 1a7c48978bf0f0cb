using System.CommandLine;
using SandboxPS.Core;

namespace SandboxPS.Cli.Commands;

internal static class ListCommand
{
    public static Command Create(CliContext context)
    {
        var provider = new Option<string?>("--provider") { Description = "Only this provider." };
        var label = new Option<string[]>("--label") { Description = "Only sandboxes with this label KEY=VALUE (repeatable)." };
        var command = new Command("ls",
            "List the managed sandboxes of every provider (a provider that cannot be reached is skipped with a warning).\n\n" +
            "Examples:\n" +
            "  sandboxps ls\n" +
            "  sandboxps ls --label team=ci --json");
        command.Aliases.Add("list");
        command.Options.Add(provider);
        command.Options.Add(label);
        command.SetAction(CliContext.Guard(context, async (parse, output, ct) =>
        {
            Dictionary<string, string>? filter = null;
            foreach (var text in parse.GetValue(label) ?? [])
            {
                var (key, value) = SpecValidator.ParseKeyValue(text, "--label");
                (filter ??= new Dictionary<string, string>(StringComparer.Ordinal))[key] = value;
            }
            var only = parse.GetValue(provider);
            if (only is not null)
            {
                context.Manager.GetProvider(only);
            }
            var rows = new List<IReadOnlyList<string>>();
            await foreach (var sandbox in context.Manager.ListAsync(only, filter,
                               (name, ex) => output.Warn($"provider {name} skipped: {ex.ErrorId}: {ex.Message}"), ct).ConfigureAwait(false))
            {
                if (output.Json)
                {
                    output.WriteJson(CliOutput.View(sandbox));
                }
                else
                {
                    rows.Add([CliOutput.Short(sandbox.Id), sandbox.Name, sandbox.Provider, sandbox.State.ToString(),
                              sandbox.Image ?? sandbox.Runtime ?? "-", CliOutput.Ago(sandbox.CreatedAt),
                              sandbox.ExpiresAt is { } e ? CliOutput.Ago(e) : "-", sandbox.Endpoint ?? "-"]);
                }
            }
            if (!output.Json)
            {
                output.Table(["ID", "NAME", "PROVIDER", "STATE", "IMAGE", "CREATED", "EXPIRES", "ENDPOINT"], rows);
            }
            return ExitCodes.Success;
        }));
        return command;
    }
}
