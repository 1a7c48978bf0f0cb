namespace SandboxPS.Bench;

/// <summary>Command line of the bench: <c>[--quick] [--only GROUP,…] [--help]</c>.</summary>
internal sealed record BenchOptions
{
    public static readonly IReadOnlyList<string> Groups = ["docker", "process", "ready", "fanout", "cli"];

    public bool Quick { get; init; }

    /// <summary>Extra bare-engine paths that explain where time goes (default on in full runs, off with --quick).</summary>
    public bool? Diag { get; init; }

    public bool Diagnostics => Diag ?? !Quick;

    public IReadOnlySet<string> Only { get; init; } = new HashSet<string>(Groups, StringComparer.Ordinal);

    public bool Runs(string group) => Only.Contains(group);

    // Repetitions (warm-up rounds are extra and not recorded).
    public int ExecReps => Quick ? 10 : 200;
    public int ProcessExecReps => Quick ? 100 : 1000;
    public int ReadyReps => Quick ? 2 : 15;
    public int CliReps => Quick ? 3 : 15;

    /// <summary>The sandboxps CLI the cli group measures (default: the one built in this tree).</summary>
    public string? Cli { get; init; }

    /// <summary>Another build of the CLI (e.g. of the commit before a change), measured interleaved in the same run.</summary>
    public string? BaselineCli { get; init; }
    public int FanoutReps => Quick ? 1 : 3;
    public int ParallelReps => Quick ? 1 : 5;
    public int TransferReps => Quick ? 1 : 5;
    public long TransferBytes => 100L * 1024 * 1024;

    public const string Usage = """
        usage: dotnet run -c Release --project bench -- [--quick] [--only GROUP[,GROUP...]] [--diag|--no-diag]
                  [--cli PATH] [--baseline-cli PATH]
          --quick   fewer repetitions; the whole run takes under a minute
          --diag    also run the diagnostic paths that split the costs (default in full runs)
          --only    run only some groups: docker (exec, parallel sessions, server RSS, upload/download),
                    process (exec_process, sessions_200, process server RSS), ready, fanout,
                    cli (cold 'sandboxps exec NAME -- true' and 'sandboxps new --provider docker', one process each)
          --cli PATH           the sandboxps the cli group runs (default: src/SandboxPS.Cli/bin/*/net8.0/sandboxps)
          --baseline-cli PATH  another sandboxps build, run interleaved with it: cli_exec_ratio, cli_new_ratio
        Prints a table, then as its last line BENCH {json}.
        """;

    /// <summary>Parses the arguments; null with a message when they are wrong.</summary>
    public static (BenchOptions? Options, string? Error, bool Help) Parse(IReadOnlyList<string> args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    options = options with { Quick = true };
                    break;
                case "--only":
                    if (i + 1 >= args.Count)
                    {
                        return (null, "--only needs a value: one or more of " + string.Join(", ", Groups) + ", comma separated", false);
                    }
                    var wanted = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    var unknown = wanted.Where(w => !Groups.Contains(w)).ToList();
                    if (unknown.Count > 0 || wanted.Length == 0)
                    {
                        return (null, $"--only: unknown group '{string.Join(",", unknown)}'; valid groups are {string.Join(", ", Groups)}", false);
                    }
                    options = options with { Only = new HashSet<string>(wanted, StringComparer.Ordinal) };
                    break;
                case "--cli" or "--baseline-cli":
                    if (i + 1 >= args.Count || !File.Exists(args[i + 1]))
                    {
                        return (null, $"{args[i]} needs the path of a built sandboxps executable", false);
                    }
                    options = args[i] == "--cli" ? options with { Cli = Path.GetFullPath(args[++i]) } : options with { BaselineCli = Path.GetFullPath(args[++i]) };
                    break;
                case "--diag":
                    options = options with { Diag = true };
                    break;
                case "--no-diag":
                    options = options with { Diag = false };
                    break;
                case "-h" or "--help":
                    return (null, null, true);
                default:
                    return (null, $"unknown argument '{args[i]}'; valid arguments are --quick, --only GROUP[,GROUP...], --diag, --no-diag, --cli PATH, --baseline-cli PATH, --help", false);
            }
        }
        return (options, null, false);
    }
}
