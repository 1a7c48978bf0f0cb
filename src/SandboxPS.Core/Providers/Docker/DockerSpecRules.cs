using System.Text.RegularExpressions;
using SandboxPS.Core.Providers.Kit;
using SandboxPS.Protocol;

namespace SandboxPS.Core.Providers.Docker;

/// <summary>What the docker provider accepts in a <see cref="SandboxSpec"/>, and its provider options.</summary>
internal static partial class DockerSpecRules
{
    internal static readonly ProviderOption Init = new("init",
    [
        ("auto", "the engine's init when it has one, else the server's own"),
        ("true", "the engine's init, docker-init"),
        ("false", "the server reaps orphans itself as PID 1"),
    ], "auto")
    {
        Aliases = new Dictionary<string, string> { ["1"] = "true", ["yes"] = "true", ["on"] = "true", ["0"] = "false", ["no"] = "false", ["off"] = "false" },
    };

    internal static readonly ProviderOption Pull = new("pull",
    [
        ("missing", "pull an image that is not present"),
        ("never", "never pull; a missing image fails the create"),
    ], "missing");

    /// <summary>Default "" = by engine: bind on a local engine, copy on a remote one.</summary>
    internal static readonly ProviderOption ServerMount = new("serverMount",
    [
        ("bind", "bind-mount the server read-only; the default on a local engine"),
        ("copy", "copy it in through the archive API; the default on a remote engine"),
    ], "");

    internal static readonly string[] KnownOptions = [Init.Key, Pull.Key, ServerMount.Key];

    [GeneratedRegex("^[a-f0-9]{8,64}$")]
    private static partial Regex IdRegex();

    /// <summary>Our sandbox ids: lowercase hex.</summary>
    internal static bool IsValidId(string id) => IdRegex().IsMatch(id);

    /// <summary>The docker provider's rules for <see cref="SpecValidator"/>: an image or runtime, container paths, the engine's 6 MiB memory floor, its options.</summary>
    internal static SandboxSpecRules Rules { get; } = new()
    {
        Provider = DockerProvider.ProviderName,
        KnownOptions = KnownOptions,
        OptionValues = ProviderOption.Rules(Init, Pull, ServerMount),
        RequiresImageOrRuntime = true,
        ContainerPaths = true,
        MinimumMemoryBytes = 6 * 1024 * 1024,
        ReservedEnvironment = [ProtocolConstants.TokenEnvironmentVariable],
    };

    /// <summary>Everything the provider checks before it contacts the engine (named as the CLI names them, for direct callers).</summary>
    internal static void Validate(SandboxSpec spec) => SpecValidator.Validate(spec, Rules, SpecNames.Cli);

    /// <summary>The <c>init</c> option: true (the engine's init), false (the server's own), null = auto.</summary>
    internal static bool? InitMode(SandboxSpec spec) => Init.Read(spec) switch
    {
        "true" => true,
        "false" => false,
        _ => null,
    };

    internal static bool IsRootUser(string user) => user is "root" or "0" || user.StartsWith("0:", StringComparison.Ordinal)
                                                    || user.StartsWith("root:", StringComparison.Ordinal);
}
