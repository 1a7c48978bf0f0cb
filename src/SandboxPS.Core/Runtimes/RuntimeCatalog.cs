using System.Text.Json;
using System.Text.Json.Serialization;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace SandboxPS.Core.Runtimes;

/// <summary>
/// Finds runtimes: the built-in ones by name (<c>python-minimal</c>, <c>python-datascience</c>,
/// <c>python-web</c>, <c>node-minimal</c>, <c>node-react</c>), or a YAML/JSON file by path.
/// </summary>
public static class RuntimeCatalog
{
    private const string BuiltInResource = "SandboxPS.Core.Runtimes.builtin-runtimes.json";

    private static readonly Lazy<IReadOnlyList<RuntimeConfig>> BuiltInRuntimes = new(LoadBuiltIns);

    /// <summary>The built-in runtimes (data in builtin-runtimes.json).</summary>
    public static IReadOnlyList<RuntimeConfig> BuiltIn => BuiltInRuntimes.Value;

    /// <summary>
    /// A built-in runtime by name, else a runtime file (.yaml, .yml or .json) by path, else a
    /// directory or file holding a Dockerfile (named after the directory).
    /// </summary>
    /// <exception cref="SandboxException">NotFound "RuntimeNotFound" listing the built-in names; InvalidArgument "InvalidRuntimeConfig".</exception>
    public static RuntimeConfig Resolve(string nameOrPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameOrPath);
        if (BuiltIn.FirstOrDefault(r => r.Name == nameOrPath) is { } builtIn)
        {
            return builtIn;
        }
        if (File.Exists(nameOrPath))
        {
            var extension = Path.GetExtension(nameOrPath).ToLowerInvariant();
            if (extension is ".yaml" or ".yml" or ".json")
            {
                return LoadFile(nameOrPath);
            }
            if (Path.GetFileName(nameOrPath).Contains("Dockerfile", StringComparison.OrdinalIgnoreCase))
            {
                return FromDockerfile(nameOrPath);
            }
        }
        if (Directory.Exists(nameOrPath) && File.Exists(Path.Combine(nameOrPath, "Dockerfile")))
        {
            return FromDockerfile(nameOrPath);
        }
        throw new SandboxException(SandboxErrorKind.NotFound, "RuntimeNotFound",
            $"'{nameOrPath}' is neither a built-in runtime ({string.Join(", ", BuiltIn.Select(r => r.Name))}) nor a runtime file (.yaml/.json) or Dockerfile directory.",
            nameOrPath)
        {
            RecommendedAction = "List runtimes with 'sandboxps runtime ls', or give the path of a runtime file.",
        };
    }

    /// <summary>A runtime built from a user's Dockerfile (or a directory holding one), named after its directory.</summary>
    public static RuntimeConfig FromDockerfile(string path, string? name = null)
    {
        var full = Path.GetFullPath(path);
        var directory = Directory.Exists(full) ? full : Path.GetDirectoryName(full)!;
        name ??= SanitizeName(Path.GetFileName(directory.TrimEnd(Path.DirectorySeparatorChar)));
        return new RuntimeConfig { Name = name, Dockerfile = full }.Validate();
    }

    /// <summary>Loads and validates a runtime file; YAML for .yaml/.yml, JSON for .json.</summary>
    public static RuntimeConfig LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SandboxException(SandboxErrorKind.InvalidArgument, "RuntimeFileUnreadable", $"Cannot read runtime file '{path}': {ex.Message}", path, ex);
        }
        var json = Path.GetExtension(path).Equals(".json", StringComparison.OrdinalIgnoreCase);
        var config = Parse(text, json, path);
        if (config.Dockerfile is { } dockerfile && !Path.IsPathRooted(dockerfile))
        {
            config = config with { Dockerfile = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, dockerfile)) };
        }
        return config.Validate();
    }

    /// <summary>Parses runtime text (YAML, or JSON when <paramref name="json"/>) and validates it. Unknown fields are errors.</summary>
    public static RuntimeConfig Parse(string text, bool json, string? source = null)
    {
        var where = source is null ? "" : $" in '{source}'";
        RuntimeDocument? document;
        try
        {
            document = json
                ? JsonSerializer.Deserialize(text, RuntimeJsonContext.Default.RuntimeDocument)
                : YamlDeserializer.Value.Deserialize<RuntimeDocument>(text);
        }
        catch (JsonException ex)
        {
            throw new SandboxException(SandboxErrorKind.InvalidArgument, "InvalidRuntimeConfig",
                $"The runtime JSON{where} is not valid: {ex.Message}", source, ex);
        }
        catch (YamlException ex)
        {
            var why = ex.InnerException?.Message ?? ex.Message;
            throw new SandboxException(SandboxErrorKind.InvalidArgument, "InvalidRuntimeConfig",
                $"The runtime YAML{where} is not valid at line {ex.Start.Line}, column {ex.Start.Column}: {why}", source, ex);
        }
        if (document is null)
        {
            throw new SandboxException(SandboxErrorKind.InvalidArgument, "InvalidRuntimeConfig", $"The runtime file{where} is empty.", source);
        }
        return document.ToConfig().Validate();
    }

    private static readonly Lazy<IDeserializer> YamlDeserializer = new(() => new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .Build());

    private static IReadOnlyList<RuntimeConfig> LoadBuiltIns()
    {
        using var stream = typeof(RuntimeCatalog).Assembly.GetManifestResourceStream(BuiltInResource)
                           ?? throw new InvalidOperationException($"Resource {BuiltInResource} is missing from SandboxPS.Core.");
        var documents = JsonSerializer.Deserialize(stream, RuntimeJsonContext.Default.ListRuntimeDocument) ?? [];
        return documents.Select(d => d.ToConfig().Validate()).ToArray();
    }

    private static string SanitizeName(string directoryName)
    {
        var chars = directoryName.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-').ToArray();
        var name = new string(chars).Trim('-', '.', '_');
        return name.Length == 0 ? "dockerfile" : name.Length > 63 ? name[..63] : name;
    }
}

/// <summary>The file form of a runtime (YAML or JSON, camelCase keys).</summary>
internal sealed class RuntimeDocument
{
    public string? Name { get; set; }
    public string? Description { get; set; }
    public string? Image { get; set; }
    public string? BaseImage { get; set; }
    public List<string>? Packages { get; set; }
    public string? PackageManager { get; set; }
    public List<string>? SetupCommands { get; set; }
    public Dictionary<string, string>? Env { get; set; }
    public string? WorkDir { get; set; }
    public string? User { get; set; }
    public string? Dockerfile { get; set; }

    public RuntimeConfig ToConfig() => new()
    {
        Name = Name ?? "",
        Description = Description,
        Image = Image,
        BaseImage = BaseImage,
        Packages = Packages ?? [],
        PackageManager = PackageManager,
        SetupCommands = SetupCommands ?? [],
        Env = Env ?? new Dictionary<string, string>(StringComparer.Ordinal),
        WorkDir = WorkDir,
        User = User,
        Dockerfile = Dockerfile,
    };
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(RuntimeDocument))]
[JsonSerializable(typeof(List<RuntimeDocument>))]
[JsonSerializable(typeof(List<string>))]
internal sealed partial class RuntimeJsonContext : JsonSerializerContext;
