using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using SandboxPS.Cli.Commands;
using SandboxPS.Core;

namespace SandboxPS.Cli;

/// <summary>The <c>sandboxps</c> command tree and its error contract: sandboxps errors exit 125 with <c>error: ErrorId: message</c>.</summary>
internal static class CliApp
{
    /// <summary>--json on every command: one JSON object per line on stdout.</summary>
    public static readonly Option<bool> JsonOption = new("--json")
    {
        Description = "Write one JSON object per line on stdout instead of text.",
        Recursive = true,
    };

    public static RootCommand Build(SandboxManager manager)
    {
        var root = new RootCommand(
            "sandboxps: create sandboxes, run commands, Python and file actions in them, and remove them.\n\n" +
            "Examples:\n" +
            "  sandboxps run -- echo hello\n" +
            "  id=$(sandboxps new --name work --ttl 30m)\n" +
            "  sandboxps exec work -- 'cd /tmp && ls -la'\n" +
            "  sandboxps rm work");
        root.Options.Add(JsonOption);
        var context = new CliContext(manager);
        root.Subcommands.Add(NewCommand.Create(context));
        root.Subcommands.Add(ListCommand.Create(context));
        root.Subcommands.Add(ExecCommand.Create(context));
        root.Subcommands.Add(SessionCommands.Create(context));
        root.Subcommands.Add(CopyCommand.Create(context));
        root.Subcommands.Add(EditCommand.Create(context));
        root.Subcommands.Add(RemoveCommand.Create(context));
        root.Subcommands.Add(RunCommand.Create(context));
        root.Subcommands.Add(LogsCommand.Create(context));
        root.Subcommands.Add(RuntimeCommands.Create(context));
        MoveExamplesToTheirOwnSection(root);
        return root;
    }

    /// <summary>
    /// Command descriptions carry their examples after "Examples:"; the first part stays the description
    /// (one line in the parent's command list) and the examples become their own help section.
    /// </summary>
    private static void MoveExamplesToTheirOwnSection(RootCommand root)
    {
        var examples = new Dictionary<Command, string>();
        void Walk(Command command)
        {
            const string marker = "\n\nExamples:\n";
            var text = command.Description ?? "";
            int at = text.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                examples[command] = text[(at + marker.Length)..];
                command.Description = text[..at];
            }
            foreach (var sub in command.Subcommands)
            {
                Walk(sub);
            }
        }
        Walk(root);
        var help = root.Options.OfType<HelpOption>().FirstOrDefault();
        if (help?.Action is { } original)
        {
            help.Action = new HelpWithExamplesAction(original, examples);
        }
    }

    /// <summary>The default help, then the command's examples.</summary>
    private sealed class HelpWithExamplesAction(CommandLineAction original, Dictionary<Command, string> examples) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            var rc = original is SynchronousCommandLineAction sync ? sync.Invoke(parseResult) : 0;
            if (examples.TryGetValue(parseResult.CommandResult.Command, out var lines))
            {
                var output = parseResult.InvocationConfiguration.Output;
                output.WriteLine("Examples:");
                foreach (var line in lines.TrimEnd().Split('\n'))
                {
                    output.WriteLine(line);
                }
                output.WriteLine();
            }
            return rc;
        }
    }

    public static Task<int> RunAsync(string[] args) =>
        RunAsync(args, SandboxManager.Default, Console.Out, Console.Error);

    public static async Task<int> RunAsync(string[] args, SandboxManager manager, TextWriter stdout, TextWriter stderr)
    {
        var root = Build(manager);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not HelpWithExamplesAction and not HelpAction)
        {
            var output = new CliOutput(false, stdout, stderr);
            var message = string.Join(" ", parse.Errors.Select(e => e.Message));
            return output.Error(new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidCommandLine, message)
            {
                RecommendedAction = $"See '{string.Join(' ', CommandPath(parse).Prepend("sandboxps"))} --help'.",
            });
        }
        var config = new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = TimeSpan.FromSeconds(5),
        };
        try
        {
            return await parse.InvokeAsync(config).ConfigureAwait(false);
        }
        catch (SandboxException ex)
        {
            return new CliOutput(false, stdout, stderr).Error(ex);
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine("error: Interrupted: cancelled.");
            return ExitCodes.Interrupted;
        }
        catch (Exception ex)
        {
            return new CliOutput(false, stdout, stderr).Error(new SandboxException(SandboxErrorKind.Internal, SandboxErrorIds.InternalError,
                $"{ex.GetType().Name}: {ex.Message}", innerException: ex)
            {
                RecommendedAction = "This is a bug in sandboxps; please report it with the command line.",
            });
        }
    }

    private static IEnumerable<string> CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null && result.Command is not RootCommand; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Insert(0, result.Command.Name);
        }
        return names;
    }
}

/// <summary>What every command action needs.</summary>
internal sealed class CliContext(SandboxManager manager)
{
    public SandboxManager Manager { get; } = manager;

    /// <summary>This program's standard input (for <c>--stdin</c>).</summary>
    public Func<Stream> OpenStdin { get; init; } = Console.OpenStandardInput;

    public CliOutput Output(ParseResult parse) =>
        new(parse.GetValue(CliApp.JsonOption), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);

    /// <summary>
    /// Resolves a sandbox to act in; one that has stopped or failed is reported at once with its exit code
    /// and last output lines (instead of a connection error).
    /// </summary>
    public async Task<Sandbox> ResolveRunningAsync(string key, CancellationToken ct)
    {
        var sandbox = await Manager.ResolveAsync(key, null, ct).ConfigureAwait(false);
        if (sandbox.State is SandboxState.Stopped or SandboxState.Failed or SandboxState.Gone)
        {
            var status = await Manager.GetStatusAsync(sandbox, ct).ConfigureAwait(false);
            if (status.State is SandboxState.Stopped or SandboxState.Failed or SandboxState.Gone)
            {
                throw SandboxManager.NotRunning(sandbox, status);
            }
        }
        return sandbox;
    }

    /// <summary>Runs an action; sandboxps errors become exit 125 with the error line.</summary>
    public static Func<ParseResult, CancellationToken, Task<int>> Guard(CliContext context, Func<ParseResult, CliOutput, CancellationToken, Task<int>> body) =>
        async (parse, ct) =>
        {
            var output = context.Output(parse);
            try
            {
                return await body(parse, output, ct).ConfigureAwait(false);
            }
            catch (SandboxException ex)
            {
                return output.Error(ex);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                output.Err.WriteLine("error: Interrupted: cancelled by a signal.");
                return ExitCodes.Interrupted;
            }
        };
}
