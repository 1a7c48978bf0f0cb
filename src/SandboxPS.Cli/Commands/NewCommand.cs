using System.CommandLine;
using SandboxPS.Core;

namespace SandboxPS.Cli.Commands;

internal static class NewCommand
{
    public static Command Create(CliContext context)
    {
        var spec = new SpecOptions();
        var noWait = new Option<bool>("--no-wait") { Description = "Return as soon as the sandbox is created, without waiting until it is ready." };
        var command = new Command("new",
            "Create a sandbox and wait until it is ready; prints its id (with --json, the sandbox).\n\n" +
            "Examples:\n" +
            "  sandboxps new\n" +
            "  sandboxps new --name build --ttl 30m --label team=ci --env FOO=bar\n" +
            "  sandboxps new --provider docker --image sandboxps/python:3.11-bookworm --memory 512m --json");
        spec.AddTo(command);
        command.Options.Add(noWait);
        command.SetAction(CliContext.Guard(context, async (parse, output, cancellationToken) =>
        {
            var sandbox = await CreateAsync(context, spec, parse, wait: !parse.GetValue(noWait), cancellationToken).ConfigureAwait(false);
            if (output.Json)
            {
                output.WriteJson(CliOutput.View(sandbox));
            }
            else
            {
                output.Line(sandbox.Id);
            }
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>Creates (and by default waits for) a sandbox; a sandbox that fails to become ready is removed and the original error thrown.</summary>
    internal static async Task<Sandbox> CreateAsync(CliContext context, SpecOptions options, ParseResult parse, bool wait, CancellationToken cancellationToken)
    {
        var provider = parse.GetValue(options.Provider) ?? "process";
        var spec = options.ToSpec(parse, provider);
        var readyTimeout = options.ReadyTimeoutValue(parse);
        if (spec.Runtime is not null && context.Manager.GetProvider(provider) is Core.Providers.Docker.DockerProvider docker)
        {
            // A runtime may need a build first: show its output (stderr) instead of a silent wait.
            docker.RuntimeBuildOptions.Progress ??= new RuntimeCommands.StderrProgress(parse.InvocationConfiguration.Error);
        }
        return wait
            ? await context.Manager.CreateReadyAsync(provider, spec, readyTimeout, ct: cancellationToken).ConfigureAwait(false)
            : await context.Manager.CreateAsync(provider, spec, cancellationToken).ConfigureAwait(false);
    }
}
