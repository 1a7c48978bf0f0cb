using System.CommandLine;
using System.Globalization;
using SandboxPS.Core;

namespace SandboxPS.Cli.Commands;

/// <summary>The options of <c>new</c>, shared with <c>run</c>, and their mapping into a <see cref="SandboxSpec"/>.</summary>
internal sealed class SpecOptions
{
    public Option<string> Provider { get; } = new("--provider") { Description = "Provider: process (default) or docker.", DefaultValueFactory = _ => "process" };
    public Option<string?> Image { get; } = new("--image") { Description = "Image to run (container providers)." };
    public Option<string?> Runtime { get; } = new("--runtime") { Description = "Runtime name or runtime file (YAML/JSON)." };
    public Option<string?> Name { get; } = new("--name") { Description = "Sandbox name (letters, digits, '-', '_', '.'); generated when left out." };
    public Option<string[]> Label { get; } = new("--label") { Description = "Label KEY=VALUE (repeatable).", AllowMultipleArgumentsPerToken = false };
    public Option<string[]> Env { get; } = new("--env", "-e") { Description = "Environment variable KEY=VALUE for everything the sandbox runs (repeatable)." };
    public Option<string?> Workdir { get; } = new("--workdir") { Description = "Working directory of sessions and execs." };
    public Option<string?> Ttl { get; } = new("--ttl") { Description = "Time to live: 90s, 10m, 2h (process provider default: 1h)." };
    public Option<string?> IdleTimeout { get; } = new("--idle-timeout") { Description = "The sandbox's server exits after this long without requests." };
    public Option<string?> Cpus { get; } = new("--cpus") { Description = "CPU limit in cores, e.g. 0.5 (docker)." };
    public Option<string?> Memory { get; } = new("--memory") { Description = "Memory limit, e.g. 512m, 2g (docker)." };
    public Option<long?> PidsLimit { get; } = new("--pids-limit") { Description = "Maximum number of processes (docker)." };
    public Option<string?> Network { get; } = new("--network") { Description = "Network mode: bridge, none or a network name (docker)." };
    public Option<bool> ReadOnly { get; } = new("--read-only") { Description = "Read-only root file system (docker)." };
    public Option<string?> User { get; } = new("--user") { Description = "User to run as: name, uid or uid:gid (docker)." };
    public Option<int?> MaxSessions { get; } = new("--max-sessions") { Description = "Maximum concurrent sessions of the server." };
    public Option<string[]> ProviderOption { get; } = new("--provider-option") { Description = "Provider-specific option KEY=VALUE (repeatable)." };
    public Option<string?> ReadyTimeout { get; } = new("--ready-timeout") { Description = "How long to wait for readiness (default 60s)." };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Provider, Image, Runtime, Name, Label, Env, Workdir, Ttl, IdleTimeout, Cpus, Memory, PidsLimit,
                                              Network, ReadOnly, User, MaxSessions, ProviderOption, ReadyTimeout })
        {
            command.Options.Add(option);
        }
    }

    public TimeSpan ReadyTimeoutValue(ParseResult parse) =>
        parse.GetValue(ReadyTimeout) is { } text ? DurationParser.Parse(text, "--ready-timeout") : SandboxManager.DefaultReadyTimeout;

    /// <summary>The spec the options describe, checked by the core's validator in these options' names.</summary>
    /// <exception cref="SandboxException">InvalidArgument naming the option.</exception>
    public SandboxSpec ToSpec(ParseResult parse, string provider)
    {
        var spec = new SandboxSpec
        {
            Image = parse.GetValue(Image),
            Runtime = parse.GetValue(Runtime),
            Name = parse.GetValue(Name),
            WorkingDirectory = parse.GetValue(Workdir),
            User = parse.GetValue(User),
            NetworkMode = parse.GetValue(Network),
            ReadOnlyRootFilesystem = parse.GetValue(ReadOnly),
            PidsLimit = parse.GetValue(PidsLimit),
            MaxSessions = parse.GetValue(MaxSessions),
        };
        foreach (var text in parse.GetValue(Label) ?? [])
        {
            var (key, value) = SpecValidator.ParseKeyValue(text, "--label");
            spec.Labels[key] = value;
        }
        foreach (var text in parse.GetValue(Env) ?? [])
        {
            var (key, value) = SpecValidator.ParseKeyValue(text, "--env");
            spec.Environment[key] = value;
        }
        foreach (var text in parse.GetValue(ProviderOption) ?? [])
        {
            var (key, value) = SpecValidator.ParseKeyValue(text, "--provider-option");
            spec.ProviderOptions[key] = value;
        }
        if (parse.GetValue(Ttl) is { } ttl)
        {
            spec.TimeToLive = DurationParser.Parse(ttl, "--ttl");
        }
        if (parse.GetValue(IdleTimeout) is { } idle)
        {
            spec.IdleTimeout = DurationParser.Parse(idle, "--idle-timeout");
        }
        if (parse.GetValue(Cpus) is { } cpus)
        {
            if (!double.TryParse(cpus, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
            {
                throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidSpec,
                    $"--cpus: '{cpus}' is not a number of cores (e.g. 0.5 or 2).", "--cpus");
            }
            spec.Cpus = value;
        }
        if (parse.GetValue(Memory) is { } memory)
        {
            spec.MemoryBytes = SizeParser.Parse(memory, "--memory");
        }
        SpecValidator.Validate(spec, SandboxSpecRules.For(provider), SpecNames.Cli);
        return spec;
    }
}
