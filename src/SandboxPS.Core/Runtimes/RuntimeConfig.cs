using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SandboxPS.Core.Runtimes;

/// <summary>
/// A named, cached image recipe: either an existing <see cref="Image"/>, or a <see cref="BaseImage"/>
/// plus packages, setup commands, environment, working directory and user (a Dockerfile is generated),
/// or a user's own <see cref="Dockerfile"/>. Built images are tagged
/// <c>sandboxps-runtime/&lt;name&gt;:&lt;hash&gt;</c>, so any change of any field builds a new image.
/// </summary>
/// <remarks>CLI: <c>sandboxps runtime build NAME|FILE</c>, <c>sandboxps new --provider docker --runtime NAME|FILE</c>.</remarks>
public sealed partial record RuntimeConfig
{
    /// <summary>Package managers <see cref="Packages"/> can name.</summary>
    public static readonly IReadOnlyList<string> PackageManagers = ["apt", "pip", "npm", "cargo"];

    /// <summary>Repository of built runtime images.</summary>
    public const string ImageRepositoryPrefix = "sandboxps-runtime/";

    /// <summary>Bumped whenever the generated Dockerfile changes shape, so old cached images are not reused.</summary>
    internal const int GeneratorVersion = 1;

    /// <summary>Name: lowercase letters, digits, '.', '_', '-'; 1–63 characters.</summary>
    public required string Name { get; init; }

    /// <summary>What it is for (one line).</summary>
    public string? Description { get; init; }

    /// <summary>An existing image, used as is (exclusive with <see cref="BaseImage"/> and <see cref="Dockerfile"/>).</summary>
    public string? Image { get; init; }

    /// <summary>Image the generated Dockerfile starts <c>FROM</c>.</summary>
    public string? BaseImage { get; init; }

    /// <summary>Packages to install with <see cref="PackageManager"/>.</summary>
    public IReadOnlyList<string> Packages { get; init; } = [];

    /// <summary><c>apt</c>, <c>pip</c>, <c>npm</c> or <c>cargo</c>; required when there are packages.</summary>
    public string? PackageManager { get; init; }

    /// <summary>Shell commands run (as root, with <c>/bin/sh -c</c>, one <c>RUN</c> each) after the packages.</summary>
    public IReadOnlyList<string> SetupCommands { get; init; } = [];

    /// <summary>Environment of the image.</summary>
    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Working directory (created, and owned by <see cref="User"/> when one is given).</summary>
    public string? WorkDir { get; init; }

    /// <summary>User sandboxes run as (name, uid or uid:gid).</summary>
    public string? User { get; init; }

    /// <summary>
    /// A user's own Dockerfile, or a directory holding one (the build context); relative paths are
    /// relative to the runtime file. Exclusive with <see cref="Image"/> and <see cref="BaseImage"/>.
    /// </summary>
    public string? Dockerfile { get; init; }

    /// <summary>True when nothing has to be built (<see cref="Image"/> is used as is).</summary>
    public bool IsPrebuilt => Image is not null;

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,62}$")]
    private static partial Regex NameRegex();

    // A docker image reference: [host[:port]/]path[:tag][@sha256:digest], nothing else.
    [GeneratedRegex("^[a-z0-9]([a-z0-9._-]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$")]
    private static partial Regex ImageRegex();

    // Debian package names (policy 5.6.1), optionally =version.
    [GeneratedRegex("^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$")]
    private static partial Regex AptPackageRegex();

    // PEP 508 name, optional extras, optional comma-separated version specifiers; no spaces, no URLs.
    [GeneratedRegex(@"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?(\[[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*\])?((==|!=|<=|>=|~=|<|>)[A-Za-z0-9.*+!_-]+(,(==|!=|<=|>=|~=|<|>)[A-Za-z0-9.*+!_-]+)*)?$")]
    private static partial Regex PipPackageRegex();

    // npm names (optionally @scope/), optional @version or @tag; no spaces, no paths, no URLs.
    [GeneratedRegex(@"^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*(@[A-Za-z0-9.^~<>=*+_-]+)?$")]
    private static partial Regex NpmPackageRegex();

    // crates.io names, optional @version.
    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_-]{0,63}(@[A-Za-z0-9.^~=*<>+-]+)?$")]
    private static partial Regex CargoPackageRegex();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvKeyRegex();

    [GeneratedRegex("^/[A-Za-z0-9._/-]*$")]
    private static partial Regex WorkDirRegex();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$")]
    private static partial Regex UserRegex();

    /// <summary>Checks every field; the error names the field, the value and what is allowed.</summary>
    /// <exception cref="SandboxException">InvalidArgument "InvalidRuntimeConfig".</exception>
    public RuntimeConfig Validate()
    {
        if (string.IsNullOrEmpty(Name) || !NameRegex().IsMatch(Name))
        {
            throw Invalid("name", $"'{Printable(Name)}' is not a valid runtime name: use 1–63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit.");
        }
        if (Description is { } description && description.Any(char.IsControl))
        {
            throw Invalid("description", "The description must be one line without control characters.");
        }
        var sources = (Image is null ? 0 : 1) + (BaseImage is null ? 0 : 1) + (Dockerfile is null ? 0 : 1);
        if (sources != 1)
        {
            throw Invalid("image", "Give exactly one of 'image' (used as is), 'baseImage' (with packages and setup commands) or 'dockerfile'.");
        }
        foreach (var (field, image) in new[] { ("image", Image), ("baseImage", BaseImage) })
        {
            if (image is not null && (image.Length > 255 || !ImageRegex().IsMatch(image)))
            {
                throw Invalid(field, $"'{Printable(image)}' is not an image reference (expected e.g. python:3.12-slim or registry:5000/team/image:tag).");
            }
        }
        if (Dockerfile is { } dockerfile && (dockerfile.Length == 0 || dockerfile.Any(char.IsControl)))
        {
            throw Invalid("dockerfile", "The Dockerfile path is empty or contains control characters.");
        }
        if (Image is not null || Dockerfile is not null)
        {
            var what = Image is not null ? "'image' is used as is" : "'dockerfile' builds what it says";
            if (Packages.Count > 0 || PackageManager is not null || SetupCommands.Count > 0)
            {
                throw Invalid(Packages.Count > 0 ? "packages" : PackageManager is not null ? "packageManager" : "setupCommands",
                    $"Packages and setup commands need 'baseImage'; {what}.");
            }
        }
        if (PackageManager is not null && !PackageManagers.Contains(PackageManager))
        {
            throw Invalid("packageManager", $"'{Printable(PackageManager)}' is not a package manager SandboxPS knows: use {string.Join(", ", PackageManagers)}.");
        }
        if (Packages.Count > 0 && PackageManager is null)
        {
            throw Invalid("packageManager", $"Packages need a package manager: add 'packageManager' ({string.Join(", ", PackageManagers)}).");
        }
        var packageRegex = PackageManager switch
        {
            "apt" => AptPackageRegex(),
            "pip" => PipPackageRegex(),
            "npm" => NpmPackageRegex(),
            "cargo" => CargoPackageRegex(),
            _ => null,
        };
        foreach (var package in Packages)
        {
            if (package is null || package.Length > 214 || packageRegex is null || !packageRegex.IsMatch(package))
            {
                throw Invalid("packages", $"'{Printable(package)}' is not a valid {PackageManager} package name (letters, digits and the manager's punctuation only, optionally a version; no spaces, quotes or shell characters).");
            }
        }
        foreach (var command in SetupCommands)
        {
            if (string.IsNullOrWhiteSpace(command))
            {
                throw Invalid("setupCommands", "A setup command is empty.");
            }
            if (command.Any(c => char.IsControl(c) && c != '\t'))
            {
                throw Invalid("setupCommands", $"Setup command '{Printable(command)}' contains a newline or control character; give one command per list entry.");
            }
        }
        foreach (var (key, value) in Env)
        {
            if (!EnvKeyRegex().IsMatch(key ?? ""))
            {
                throw Invalid("env", $"'{Printable(key)}' is not a valid environment variable name: use letters, digits and '_', not starting with a digit.");
            }
            if (value is null || value.Any(c => char.IsControl(c) && c != '\t'))
            {
                throw Invalid("env", $"The value of '{key}' contains a newline or control character.");
            }
        }
        if (WorkDir is not null && !WorkDirRegex().IsMatch(WorkDir))
        {
            throw Invalid("workDir", $"'{Printable(WorkDir)}' is not a usable working directory: an absolute path of letters, digits, '.', '_', '-' and '/'.");
        }
        if (User is not null && !UserRegex().IsMatch(User))
        {
            throw Invalid("user", $"'{Printable(User)}' is not a valid user: a name or uid, optionally :group or :gid.");
        }
        return this;
    }

    /// <summary>
    /// Canonical JSON of every field (env sorted by key; lists in order), the input of <see cref="ComputeHash"/>.
    /// </summary>
    public string ToNormalizedJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("generator", GeneratorVersion);
            json.WriteString("name", Name);
            json.WriteString("description", Description);
            json.WriteString("image", Image);
            json.WriteString("baseImage", BaseImage);
            json.WriteString("dockerfile", Dockerfile);
            json.WriteString("packageManager", PackageManager);
            json.WriteStartArray("packages");
            foreach (var package in Packages)
            {
                json.WriteStringValue(package);
            }
            json.WriteEndArray();
            json.WriteStartArray("setupCommands");
            foreach (var command in SetupCommands)
            {
                json.WriteStringValue(command);
            }
            json.WriteEndArray();
            json.WriteStartObject("env");
            foreach (var (key, value) in Env.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                json.WriteString(key, value);
            }
            json.WriteEndObject();
            json.WriteString("workDir", WorkDir);
            json.WriteString("user", User);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>First 12 hex digits of the SHA-256 of <see cref="ToNormalizedJson"/> (plus the build context, when given).</summary>
    public string ComputeHash(string? contextDigest = null)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(ToNormalizedJson() + (contextDigest is null ? "" : "\n" + contextDigest)));
        return Convert.ToHexString(hash).ToLowerInvariant()[..12];
    }

    /// <summary>The tag of the built image: <c>sandboxps-runtime/NAME:HASH</c>.</summary>
    public string ImageTag(string? contextDigest = null) => ImageRepositoryPrefix + Name + ":" + ComputeHash(contextDigest);

    private static string Printable(string? text) =>
        text is null ? "(null)" : text.Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal);

    internal static SandboxException Invalid(string field, string message) =>
        new(SandboxErrorKind.InvalidArgument, "InvalidRuntimeConfig", $"Runtime field '{field}': {message}", field);
}
