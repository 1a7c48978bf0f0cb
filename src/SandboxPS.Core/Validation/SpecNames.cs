namespace SandboxPS.Core;

/// <summary>
/// How a front end names the fields of <see cref="SandboxSpec"/> (<c>-TimeToLive</c>, <c>--ttl</c>), so that
/// <see cref="SpecValidator"/> words its messages and recommended actions in the caller's own terms.
/// </summary>
public sealed record SpecNames
{
    /// <summary>The names of the .NET API itself (<c>SandboxSpec.TimeToLive</c>...), for direct callers of the core.</summary>
    public static SpecNames Spec { get; } = new();

    /// <summary>The <c>sandboxps</c> command line's options.</summary>
    public static SpecNames Cli { get; } = new()
    {
        Name = "--name", Image = "--image", Runtime = "--runtime", Labels = "--label", Environment = "--env",
        WorkingDirectory = "--workdir", User = "--user", Cpus = "--cpus", MemoryBytes = "--memory", PidsLimit = "--pids-limit",
        NetworkMode = "--network", ReadOnlyRootFilesystem = "--read-only", TimeToLive = "--ttl", IdleTimeout = "--idle-timeout",
        MaxSessions = "--max-sessions", ProviderOptions = "--provider-option", Provider = "--provider",
        ProviderOptionExample = "--provider-option {0}={1}",
    };

    /// <summary><see cref="SandboxSpec.Name"/>.</summary>
    public string Name { get; init; } = "SandboxSpec.Name";
    /// <summary><see cref="SandboxSpec.Image"/>.</summary>
    public string Image { get; init; } = "SandboxSpec.Image";
    /// <summary><see cref="SandboxSpec.Runtime"/>.</summary>
    public string Runtime { get; init; } = "SandboxSpec.Runtime";
    /// <summary><see cref="SandboxSpec.Labels"/>.</summary>
    public string Labels { get; init; } = "SandboxSpec.Labels";
    /// <summary><see cref="SandboxSpec.Environment"/>.</summary>
    public string Environment { get; init; } = "SandboxSpec.Environment";
    /// <summary><see cref="SandboxSpec.WorkingDirectory"/>.</summary>
    public string WorkingDirectory { get; init; } = "SandboxSpec.WorkingDirectory";
    /// <summary><see cref="SandboxSpec.User"/>.</summary>
    public string User { get; init; } = "SandboxSpec.User";
    /// <summary><see cref="SandboxSpec.Cpus"/>.</summary>
    public string Cpus { get; init; } = "SandboxSpec.Cpus";
    /// <summary><see cref="SandboxSpec.MemoryBytes"/>.</summary>
    public string MemoryBytes { get; init; } = "SandboxSpec.MemoryBytes";
    /// <summary><see cref="SandboxSpec.PidsLimit"/>.</summary>
    public string PidsLimit { get; init; } = "SandboxSpec.PidsLimit";
    /// <summary><see cref="SandboxSpec.NetworkMode"/>.</summary>
    public string NetworkMode { get; init; } = "SandboxSpec.NetworkMode";
    /// <summary><see cref="SandboxSpec.ReadOnlyRootFilesystem"/>.</summary>
    public string ReadOnlyRootFilesystem { get; init; } = "SandboxSpec.ReadOnlyRootFilesystem";
    /// <summary><see cref="SandboxSpec.TimeToLive"/>.</summary>
    public string TimeToLive { get; init; } = "SandboxSpec.TimeToLive";
    /// <summary><see cref="SandboxSpec.IdleTimeout"/>.</summary>
    public string IdleTimeout { get; init; } = "SandboxSpec.IdleTimeout";
    /// <summary><see cref="SandboxSpec.MaxSessions"/>.</summary>
    public string MaxSessions { get; init; } = "SandboxSpec.MaxSessions";
    /// <summary><see cref="SandboxSpec.ProviderOptions"/>.</summary>
    public string ProviderOptions { get; init; } = "SandboxSpec.ProviderOptions";
    /// <summary>The provider's name (an argument of <see cref="SandboxManager.CreateAsync"/>).</summary>
    public string Provider { get; init; } = "provider";
    /// <summary>How to pass one provider option: a composite format of the key ({0}) and the value ({1}).</summary>
    public string ProviderOptionExample { get; init; } = "ProviderOptions[\"{0}\"] = \"{1}\"";

    /// <summary>The name of the <see cref="SandboxSpec"/> property <paramref name="field"/> (<c>nameof(SandboxSpec.Cpus)</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a field of <see cref="SandboxSpec"/>.</exception>
    public string Of(string field) => field switch
    {
        nameof(SandboxSpec.Name) => Name,
        nameof(SandboxSpec.Image) => Image,
        nameof(SandboxSpec.Runtime) => Runtime,
        nameof(SandboxSpec.Labels) => Labels,
        nameof(SandboxSpec.Environment) => Environment,
        nameof(SandboxSpec.WorkingDirectory) => WorkingDirectory,
        nameof(SandboxSpec.User) => User,
        nameof(SandboxSpec.Cpus) => Cpus,
        nameof(SandboxSpec.MemoryBytes) => MemoryBytes,
        nameof(SandboxSpec.PidsLimit) => PidsLimit,
        nameof(SandboxSpec.NetworkMode) => NetworkMode,
        nameof(SandboxSpec.ReadOnlyRootFilesystem) => ReadOnlyRootFilesystem,
        nameof(SandboxSpec.TimeToLive) => TimeToLive,
        nameof(SandboxSpec.IdleTimeout) => IdleTimeout,
        nameof(SandboxSpec.MaxSessions) => MaxSessions,
        nameof(SandboxSpec.ProviderOptions) => ProviderOptions,
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, "not a SandboxSpec field"),
    };

    /// <summary>One provider option as the caller would pass it.</summary>
    public string OptionExample(string key, string value) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, ProviderOptionExample, key, value);
}
