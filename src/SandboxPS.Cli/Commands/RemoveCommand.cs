using System.CommandLine;
using SandboxPS.Core;

namespace SandboxPS.Cli.Commands;

internal static class RemoveCommand
{
    public static Command Create(CliContext context)
    {
        var sandboxes = new Argument<string[]>("SANDBOX") { Description = "Sandbox ids, unique id prefixes, or names.", Arity = ArgumentArity.ZeroOrMore };
        var all = new Option<bool>("--all") { Description = "Remove every managed sandbox (of --provider, or of every provider)." };
        var expired = new Option<bool>("--expired") { Description = "Remove sandboxes that are stopped, failed, or past their expiry." };
        var provider = new Option<string?>("--provider") { Description = "With --all or --expired: only this provider." };
        var command = new Command("rm",
            "Remove sandboxes and everything made for them. Idempotent: removing what is already gone succeeds.\n\n" +
            "Examples:\n" +
            "  sandboxps rm work\n" +
            "  sandboxps rm --expired\n" +
            "  sandboxps rm --all --provider process");
        command.Aliases.Add("remove");
        command.Arguments.Add(sandboxes);
        command.Options.Add(all);
        command.Options.Add(expired);
        command.Options.Add(provider);
        command.SetAction(CliContext.Guard(context, async (parse, output, ct) =>
        {
            var keys = parse.GetValue(sandboxes) ?? [];
            bool removeAll = parse.GetValue(all), removeExpired = parse.GetValue(expired);
            if ((keys.Length > 0 ? 1 : 0) + (removeAll ? 1 : 0) + (removeExpired ? 1 : 0) != 1)
            {
                throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidCommandLine,
                    "Pass SANDBOX names or ids, or --all, or --expired (exactly one of them).", "SANDBOX")
                {
                    RecommendedAction = "Examples: sandboxps rm work | sandboxps rm --all | sandboxps rm --expired",
                };
            }
            var removed = new List<Sandbox>();
            int rc = ExitCodes.Success;
            if (removeExpired)
            {
                removed.AddRange(await context.Manager.RemoveExpiredAsync(parse.GetValue(provider), ct).ConfigureAwait(false));
            }
            else if (removeAll)
            {
                var only = parse.GetValue(provider);
                var list = new List<Sandbox>();
                await foreach (var sandbox in context.Manager.ListAsync(only, null,
                                   (name, ex) => output.Warn($"provider {name} skipped: {ex.ErrorId}: {ex.Message}"), ct).ConfigureAwait(false))
                {
                    list.Add(sandbox);
                }
                foreach (var sandbox in list)
                {
                    await context.Manager.RemoveAsync(sandbox, ct).ConfigureAwait(false);
                    removed.Add(sandbox);
                }
            }
            else
            {
                foreach (var key in keys.Distinct(StringComparer.Ordinal))
                {
                    try
                    {
                        var sandbox = await context.Manager.ResolveAsync(key, null, ct).ConfigureAwait(false);
                        await context.Manager.RemoveAsync(sandbox, ct).ConfigureAwait(false);
                        removed.Add(sandbox);
                    }
                    catch (SandboxException ex) when (ex.ErrorId == SandboxErrorIds.SandboxNotFound)
                    {
                        output.Warn($"{key}: no such sandbox (already removed?)");
                    }
                    catch (SandboxException ex)
                    {
                        rc = output.Error(ex);
                    }
                }
            }
            foreach (var sandbox in removed)
            {
                if (output.Json)
                {
                    output.WriteJson(new RemovedView(sandbox.Id, sandbox.Name, sandbox.Provider, true));
                }
                else
                {
                    output.Line(sandbox.Id);
                }
            }
            return rc;
        }));
        return command;
    }
}
