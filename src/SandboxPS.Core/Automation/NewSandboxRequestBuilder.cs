using System.Collections;

namespace SandboxPS.Core.Automation;

/// <summary>The parameters of New-Sandbox as bound (null = not given).</summary>
internal sealed record NewSandboxParameters
{
    public SandboxProviderKind? Provider { get; init; }
    public string? Image { get; init; }
    public string? Runtime { get; init; }
    public string? Name { get; init; }
    public IDictionary? Label { get; init; }
    public IDictionary? Environment { get; init; }
    public string? WorkingDirectory { get; init; }
    public object? TimeToLive { get; init; }
    public object? IdleTimeout { get; init; }
    public double? Cpus { get; init; }
    public long? MemoryMB { get; init; }
    public string? Memory { get; init; }
    public long? PidsLimit { get; init; }
    public string? NetworkMode { get; init; }
    public bool ReadOnlyRootFilesystem { get; init; }
    public string? User { get; init; }
    public int? MaxSessions { get; init; }
    public IDictionary? ProviderOption { get; init; }
}

/// <summary>What New-Sandbox asks the core to create.</summary>
internal sealed record NewSandboxRequest(string Provider, SandboxSpec Spec)
{
    /// <summary>How ShouldProcess names the target: <c>web-1 (docker, image sandboxps/busybox:1.35)</c>.</summary>
    public string Target
    {
        get
        {
            var what = Spec.Image is not null ? $"image {Spec.Image}"
                : Spec.Runtime is not null ? $"runtime {Spec.Runtime}"
                : "default environment";
            return $"{Spec.Name ?? "(generated name)"} ({Provider}, {what})";
        }
    }
}

/// <summary>
/// New-Sandbox's parameters to the core's <see cref="SandboxSpec"/> (STYLE.md 4.13 L3): units and conversions
/// are decided here, and the core's <see cref="SpecValidator"/> checks the result in New-Sandbox's own names,
/// so the cmdlet only binds and calls.
/// </summary>
internal static class NewSandboxRequestBuilder
{
    /// <summary>New-Sandbox's parameters, as the validator names them in messages and recommended actions.</summary>
    public static SpecNames PowerShellNames { get; } = new()
    {
        Name = "-Name", Image = "-Image", Runtime = "-Runtime", Labels = "-Label", Environment = "-Environment",
        WorkingDirectory = "-WorkingDirectory", User = "-User", Cpus = "-Cpus", MemoryBytes = "-Memory", PidsLimit = "-PidsLimit",
        NetworkMode = "-NetworkMode", ReadOnlyRootFilesystem = "-ReadOnlyRootFilesystem", TimeToLive = "-TimeToLive",
        IdleTimeout = "-IdleTimeout", MaxSessions = "-SessionLimit", ProviderOptions = "-ProviderOption", Provider = "-Provider",
        ProviderOptionExample = "-ProviderOption @{{ {0} = '{1}' }}",
    };

    /// <summary>Builds the request; <paramref name="resolveLocalPath"/> turns a relative runtime file path into a full one (PowerShell's current location).</summary>
    /// <exception cref="SandboxException">InvalidArgument naming the parameter (ids of <see cref="SandboxErrorIds"/>).</exception>
    public static NewSandboxRequest Build(NewSandboxParameters p, Func<string, string>? resolveLocalPath = null)
    {
        ArgumentNullException.ThrowIfNull(p);
        if (p.MemoryMB is not null && p.Memory is not null)
        {
            throw ParameterConversion.Invalid("MemoryMB", "and -Memory exclude each other", "Pass the limit once: -MemoryMB 512 or -Memory 512m.");
        }

        var provider = (p.Provider ?? (p.Image is not null || p.Runtime is not null ? SandboxProviderKind.Docker : SandboxProviderKind.Process))
            .ToProviderName();
        var spec = new SandboxSpec
        {
            Image = p.Image,
            Runtime = p.Runtime is { } runtime && resolveLocalPath is not null && LooksLikePath(runtime) ? resolveLocalPath(runtime) : p.Runtime,
            Name = string.IsNullOrWhiteSpace(p.Name) ? null : p.Name,
            Labels = ParameterConversion.ToStringDictionary(p.Label, "Label"),
            Environment = ParameterConversion.ToStringDictionary(p.Environment, "Environment"),
            WorkingDirectory = p.WorkingDirectory,
            User = p.User,
            Cpus = p.Cpus,
            MemoryBytes = p.MemoryMB is { } m ? checked(m * 1024 * 1024) : p.Memory is { } text ? SizeParser.Parse(text, "-Memory") : null,
            PidsLimit = p.PidsLimit,
            NetworkMode = p.NetworkMode,
            ReadOnlyRootFilesystem = p.ReadOnlyRootFilesystem,
            TimeToLive = p.TimeToLive is null ? null : ParameterConversion.ToDuration(p.TimeToLive, "TimeToLive"),
            IdleTimeout = p.IdleTimeout is null ? null : ParameterConversion.ToDuration(p.IdleTimeout, "IdleTimeout"),
            MaxSessions = p.MaxSessions,
            ProviderOptions = new Dictionary<string, string>(
                ParameterConversion.ToStringDictionary(p.ProviderOption, "ProviderOption"), StringComparer.OrdinalIgnoreCase),
        };
        SpecValidator.Validate(spec, SandboxSpecRules.For(provider),
            p.MemoryMB is not null ? PowerShellNames with { MemoryBytes = "-MemoryMB" } : PowerShellNames);
        return new NewSandboxRequest(provider, spec);
    }

    /// <summary>True for runtime values that name a file (<c>./rt.yaml</c>, <c>rt.json</c>, <c>dir/</c>), not a built-in runtime name.</summary>
    internal static bool LooksLikePath(string runtime) =>
        runtime.Contains('/') || runtime.Contains('\\') || runtime.StartsWith('.') || runtime.StartsWith('~')
        || runtime.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase)
        || runtime.EndsWith(".yml", StringComparison.OrdinalIgnoreCase)
        || runtime.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
}
