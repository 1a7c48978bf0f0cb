using System.CommandLine;
using SandboxPS.Core;
using SandboxPS.Core.Providers.Docker;
using SandboxPS.Core.Runtimes;

namespace SandboxPS.Cli.Commands;

/// <summary><c>sandboxps runtime ls | build | dockerfile</c>: named, cached images for the docker provider.</summary>
internal static class RuntimeCommands
{
    public static Command Create(CliContext context)
    {
        var command = new Command("runtime",
            "Runtimes: named, cached images for --provider docker (built-in, or a YAML/JSON runtime file, or a Dockerfile directory).\n\n" +
            "Examples:\n" +
            "  sandboxps runtime ls\n" +
            "  sandboxps runtime build ./tools.yaml\n" +
            "  sandboxps new --provider docker --runtime ./tools.yaml");
        command.Subcommands.Add(List(context));
        command.Subcommands.Add(Build(context));
        command.Subcommands.Add(Dockerfile(context));
        return command;
    }

    private static Command List(CliContext context)
    {
        var command = new Command("ls", "List the built-in runtimes.");
        command.SetAction(CliContext.Guard(context, (parse, output, _) =>
        {
            var rows = new List<IReadOnlyList<string>>();
            foreach (var runtime in RuntimeCatalog.BuiltIn)
            {
                if (output.Json)
                {
                    output.WriteJson(new
                    {
                        runtime.Name, runtime.Description, runtime.Image, runtime.BaseImage, runtime.PackageManager,
                        runtime.Packages, Tag = runtime.IsPrebuilt ? runtime.Image : runtime.ImageTag(),
                    });
                }
                else
                {
                    rows.Add([runtime.Name, runtime.Image ?? runtime.BaseImage ?? "-",
                              runtime.Packages.Count == 0 ? "-" : $"{runtime.PackageManager}: {string.Join(' ', runtime.Packages)}",
                              runtime.Description ?? ""]);
                }
            }
            if (!output.Json)
            {
                output.Table(["NAME", "BASE", "PACKAGES", "DESCRIPTION"], rows);
            }
            return Task.FromResult(ExitCodes.Success);
        }));
        return command;
    }

    private static Command Build(CliContext context)
    {
        var target = new Argument<string>("runtime") { Description = "Built-in runtime name, runtime file (.yaml/.json), or Dockerfile directory." };
        var noCache = new Option<bool>("--no-cache") { Description = "Build even when the image of this exact config exists." };
        var addHost = new Option<string[]>("--add-host") { Description = "Extra /etc/hosts entry HOST:IP for the build (repeatable)." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Do not show the build's output." };
        var command = new Command("build",
            "Build a runtime's image (tag sandboxps-runtime/NAME:HASH); prints the tag. Reuses the image when the config is unchanged.");
        command.Arguments.Add(target);
        command.Options.Add(noCache);
        command.Options.Add(addHost);
        command.Options.Add(quiet);
        command.SetAction(CliContext.Guard(context, async (parse, output, ct) =>
        {
            var config = RuntimeCatalog.Resolve(parse.GetValue(target)!);
            var options = new RuntimeBuildOptions { Cache = !parse.GetValue(noCache) };
            foreach (var host in parse.GetValue(addHost) ?? [])
            {
                options.ExtraHosts.Add(host);
            }
            if (!parse.GetValue(quiet))
            {
                options.Progress = new StderrProgress(output.Err);
            }
            var image = await Docker(context).Runtimes.EnsureAsync(config, options, ct).ConfigureAwait(false);
            if (output.Json)
            {
                output.WriteJson(new { Runtime = config.Name, image.Tag, image.Built });
            }
            else
            {
                output.Line(image.Tag);
            }
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Dockerfile(CliContext context)
    {
        var target = new Argument<string>("runtime") { Description = "Built-in runtime name or runtime file (.yaml/.json)." };
        var command = new Command("dockerfile", "Print the Dockerfile SandboxPS generates for a runtime.");
        command.Arguments.Add(target);
        command.SetAction(CliContext.Guard(context, (parse, output, _) =>
        {
            var config = RuntimeCatalog.Resolve(parse.GetValue(target)!);
            if (config.BaseImage is null)
            {
                throw new SandboxException(SandboxErrorKind.InvalidArgument, "RuntimeHasNoGeneratedDockerfile",
                    $"Runtime '{config.Name}' uses {(config.Image is not null ? "an existing image" : "its own Dockerfile")}; nothing is generated.", config.Name);
            }
            output.Out.Write(DockerfileGenerator.Generate(config));
            output.Out.Flush();
            return Task.FromResult(ExitCodes.Success);
        }));
        return command;
    }

    internal static DockerProvider Docker(CliContext context) =>
        context.Manager.GetProvider(DockerProvider.ProviderName) as DockerProvider
        ?? throw new SandboxException(SandboxErrorKind.NotSupported, "RuntimesNeedDocker", "Runtimes need the docker provider, which is not registered.");

    /// <summary>Build output on stderr as it arrives (synchronously: Progress&lt;T&gt; would reorder lines).</summary>
    internal sealed class StderrProgress(TextWriter err) : IProgress<RuntimeBuildProgress>
    {
        public void Report(RuntimeBuildProgress value)
        {
            lock (err)
            {
                err.WriteLine(value.Message);
                err.Flush();
            }
        }
    }
}
