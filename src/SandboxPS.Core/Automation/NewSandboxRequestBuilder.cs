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
/// New-Sandbox's parameters to the core's <see cref="SandboxSpec"/> (STYLE.md 4.13 L3): exclusions,
/// units and conversions are decided here, so the cmdlet only binds and calls.
/// </summary>
internal static class NewSandboxRequestBuilder
{
    /// <summary>Builds the request; <paramref name="resolveLocalPath"/> turns a relative runtime file path into a full one (PowerShell's current location).</summary>
    /// <exception cref="SandboxException">InvalidArgument naming the parameter.</exception>
    public static NewSandboxRequest Build(NewSandboxParameters p, Func<string, string>? resolveLocalPath = null)
    {
        ArgumentNullException.ThrowIfNull(p);
        if (p.Image is not null && p.Runtime is not null)
        {
            throw ParameterConversion.Invalid("Image", "and -Runtime exclude each other",
                "Pass -Image to run an existing image, or -Runtime to run (and build if needed) a runtime.");
        }
        if (p.MemoryMB is not null && p.Memory is not null)
        {
            throw ParameterConversion.Invalid("MemoryMB", "and -Memory exclude each other", "Pass the limit once: -MemoryMB 512 or -Memory 512m.");
        }
        if (p.Image is { } image && string.IsNullOrWhiteSpace(image))
        {
            throw ParameterConversion.Invalid("Image", "is empty", "Pass an image reference such as sandboxps/busybox:1.35.");
        }
        if (p.Cpus is { } cpus && (!double.IsFinite(cpus) || cpus <= 0))
        {
            throw ParameterConversion.Invalid("Cpus", $"must be a positive number of cores (got {cpus})", "Pass -Cpus 0.5, -Cpus 1 or -Cpus 2.");
        }
        if (p.MemoryMB is { } mb && mb <= 0)
        {
            throw ParameterConversion.Invalid("MemoryMB", $"must be positive (got {mb})", "Pass -MemoryMB 256 or -Memory 1g.");
        }
        if (p.PidsLimit is { } pids && pids <= 0)
        {
            throw ParameterConversion.Invalid("PidsLimit", $"must be positive (got {pids})");
        }
        if (p.MaxSessions is { } sessions && sessions <= 0)
        {
            throw ParameterConversion.Invalid("SessionLimit", $"must be positive (got {sessions})");
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
        foreach (var key in spec.Labels.Keys.Where(k => k.StartsWith(SandboxLabels.Prefix, StringComparison.OrdinalIgnoreCase)))
        {
            throw ParameterConversion.Invalid("Label", $"uses the reserved prefix '{SandboxLabels.Prefix}' in '{key}'",
                $"Rename the label; keys starting with '{SandboxLabels.Prefix}' belong to SandboxPS.");
        }
        return new NewSandboxRequest(provider, spec);
    }

    /// <summary>True for runtime values that name a file (<c>./rt.yaml</c>, <c>rt.json</c>, <c>dir/</c>), not a built-in runtime name.</summary>
    internal static bool LooksLikePath(string runtime) =>
        runtime.Contains('/') || runtime.Contains('\\') || runtime.StartsWith('.') || runtime.StartsWith('~')
        || runtime.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase)
        || runtime.EndsWith(".yml", StringComparison.OrdinalIgnoreCase)
        || runtime.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
}
