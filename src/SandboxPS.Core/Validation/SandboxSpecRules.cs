using SandboxPS.Core.Providers.Process;
using SandboxPS.Protocol;

namespace SandboxPS.Core;

/// <summary>The values one provider option accepts, and what they mean (for the message when another is given).</summary>
/// <param name="Values">Accepted values, compared trimmed and case-insensitively.</param>
/// <param name="Meaning">The accepted values with their meaning, e.g. <c>'missing' (pull an image that is not present) or 'never'</c>.</param>
public sealed record ProviderOptionRule(IReadOnlyCollection<string> Values, string Meaning);

/// <summary>
/// What one provider accepts in a <see cref="SandboxSpec"/>, beyond the rules every spec follows: its options and
/// their values, the fields it cannot honour, and the limits of its backend. <see cref="SpecValidator"/> applies
/// them; front ends validate with the provider's rules and their own names before creating anything, and the
/// provider validates again (with <see cref="SpecNames.Spec"/> or the names it is given) for direct callers.
/// </summary>
public sealed record SandboxSpecRules
{
    /// <summary>The provider's name, for messages.</summary>
    public required string Provider { get; init; }

    /// <summary>Provider option keys it understands; null leaves options unchecked (a provider whose rules are not known here).</summary>
    public IReadOnlyCollection<string>? KnownOptions { get; init; } = [];

    /// <summary>Options whose values are restricted, by key (case-insensitive).</summary>
    public IReadOnlyDictionary<string, ProviderOptionRule> OptionValues { get; init; } = new Dictionary<string, ProviderOptionRule>();

    /// <summary><see cref="SandboxSpec"/> fields it cannot honour (<c>nameof(SandboxSpec.Cpus)</c>...): setting one is <c>ProviderOptionNotSupported</c>.</summary>
    public IReadOnlyCollection<string> Unsupported { get; init; } = [];

    /// <summary>Why <see cref="Unsupported"/> fields cannot be honoured.</summary>
    public string UnsupportedReason { get; init; } = "the provider does not support it";

    /// <summary>An image or a runtime is required (container providers).</summary>
    public bool RequiresImageOrRuntime { get; init; }

    /// <summary>Paths and names are the container's: the working directory is absolute; user and network have no blanks.</summary>
    public bool ContainerPaths { get; init; }

    /// <summary>The smallest memory limit the backend accepts.</summary>
    public long? MinimumMemoryBytes { get; init; }

    /// <summary>Environment variable names the provider sets itself.</summary>
    public IReadOnlyCollection<string> ReservedEnvironment { get; init; } = [];

    /// <summary>Rules for a provider not known here: only the rules every spec follows (the provider checks the rest).</summary>
    public static SandboxSpecRules Generic(string provider) => new() { Provider = provider, KnownOptions = null };

    /// <summary>The process provider: a plain local process, so no image, runtime or resource limits.</summary>
    public static SandboxSpecRules Process { get; } = new()
    {
        Provider = ProcessSandboxProvider.ProviderName,
        KnownOptions = ProcessSandboxProvider.KnownOptions,
        Unsupported =
        [
            nameof(SandboxSpec.Image), nameof(SandboxSpec.Runtime), nameof(SandboxSpec.Cpus), nameof(SandboxSpec.MemoryBytes),
            nameof(SandboxSpec.PidsLimit), nameof(SandboxSpec.NetworkMode), nameof(SandboxSpec.ReadOnlyRootFilesystem), nameof(SandboxSpec.User),
        ],
        UnsupportedReason = "it runs the server as a plain local process, with no isolation and no resource limits",
    };

    /// <summary>The docker provider: an image or runtime, container paths, the engine's 6 MiB memory floor, its three options.</summary>
    public static SandboxSpecRules Docker { get; } = new()
    {
        Provider = "docker",
        KnownOptions = ["init", "pull", "serverMount"],
        OptionValues = new Dictionary<string, ProviderOptionRule>(StringComparer.OrdinalIgnoreCase)
        {
            ["init"] = new(["auto", "true", "1", "yes", "on", "false", "0", "no", "off"],
                "'auto' (the engine's init when it has one, else the server's own; the default), 'true' (the engine's init, " +
                "docker-init) or 'false' (the server reaps orphans itself as PID 1)"),
            ["pull"] = new(["missing", "never"], "'missing' (pull an image that is not present; the default) or 'never'"),
            ["serverMount"] = new(["bind", "copy"],
                "'bind' (bind-mount the server read-only; the default on a local engine) or 'copy' (copy it in through the " +
                "archive API; the default on a remote engine)"),
        },
        RequiresImageOrRuntime = true,
        ContainerPaths = true,
        MinimumMemoryBytes = 6 * 1024 * 1024,
        ReservedEnvironment = [ProtocolConstants.TokenEnvironmentVariable],
    };

    /// <summary>The rules of a built-in provider by name; <see cref="Generic"/> for any other.</summary>
    public static SandboxSpecRules For(string provider) => provider switch
    {
        _ when string.Equals(provider, Process.Provider, StringComparison.OrdinalIgnoreCase) => Process,
        _ when string.Equals(provider, Docker.Provider, StringComparison.OrdinalIgnoreCase) => Docker,
        _ => Generic(provider),
    };
}
