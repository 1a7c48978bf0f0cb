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
    ], "")
    {
        Aliases = new Dictionary<string, string> { [""] = "" },
    };

    internal static readonly string[] KnownOptions = [Init.Key, Pull.Key, ServerMount.Key];

    [GeneratedRegex("^[a-f0-9]{8,64}$")]
    private static partial Regex IdRegex();

    /// <summary>Our sandbox ids: lowercase hex.</summary>
    internal static bool IsValidId(string id) => IdRegex().IsMatch(id);

    /// <summary>Everything the provider checks before it contacts the engine.</summary>
    internal static void Validate(SandboxSpec spec)
    {
        SpecValidator.Validate(spec, DockerProvider.ProviderName, KnownOptions);
        if (string.IsNullOrWhiteSpace(spec.Image) && string.IsNullOrWhiteSpace(spec.Runtime))
        {
            throw Invalid("--image", "The docker provider needs an image or a runtime.", "Pass --image IMAGE or --runtime NAME|FILE.");
        }
        if (spec.Image is { } image && (image.Any(char.IsWhiteSpace) || image.Any(char.IsControl)))
        {
            throw Invalid("--image", $"Image '{Printable(image)}' contains whitespace or control characters.", "Pass an image reference like busybox:1.36.");
        }
        if (spec.Environment.ContainsKey(ProtocolConstants.TokenEnvironmentVariable))
        {
            throw Invalid("--env", $"Environment variable '{ProtocolConstants.TokenEnvironmentVariable}' is reserved for the sandbox server's token.", "Use another name.");
        }
        if (spec.WorkingDirectory is { } wd && (!wd.StartsWith('/') || wd.Any(char.IsControl)))
        {
            throw Invalid("--workdir", $"Working directory '{Printable(wd)}' must be an absolute path inside the container.", "Pass e.g. --workdir /work.");
        }
        if (spec.User is { } user && (user.Length == 0 || user.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))))
        {
            throw Invalid("--user", $"User '{Printable(user)}' is not valid.", "Pass a name, uid or uid:gid, e.g. --user 1000:1000.");
        }
        if (spec.MemoryBytes is { } memory && memory < 6 * 1024 * 1024)
        {
            throw Invalid("--memory", $"Memory limit {memory} bytes is below the engine's minimum of 6 MiB.", "Pass e.g. --memory 256m.");
        }
        if (spec.NetworkMode is { } network && (network.Length == 0 || network.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))))
        {
            throw Invalid("--network", $"Network mode '{Printable(network)}' is not valid.", "Pass bridge, none, host or a network name.");
        }
        Init.Read(spec);
        Pull.Read(spec);
        ServerMount.Read(spec);
    }

    /// <summary>The <c>init</c> option: true (the engine's init), false (the server's own), null = auto.</summary>
    internal static bool? InitMode(SandboxSpec spec) => Init.Read(spec) switch
    {
        "true" => true,
        "false" => false,
        _ => null,
    };

    internal static bool IsRootUser(string user) => user is "root" or "0" || user.StartsWith("0:", StringComparison.Ordinal)
                                                    || user.StartsWith("root:", StringComparison.Ordinal);

    internal static string Printable(string text) => text.Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal);

    private static SandboxException Invalid(string parameter, string message, string? action = null) =>
        new(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidSpec, message, parameter) { RecommendedAction = action };
}
