using System.Collections.Concurrent;
using System.Formats.Tar;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SandboxPS.Core.Providers.Docker;

namespace SandboxPS.Core.Runtimes;

/// <summary>How <see cref="RuntimeBuilder"/> builds.</summary>
public sealed class RuntimeBuildOptions
{
    /// <summary>Reuse the image when its tag (name + hash of the config) exists. On by default.</summary>
    public bool Cache { get; set; } = true;

    /// <summary>Extra <c>/etc/hosts</c> entries of build containers (<c>host:ip</c>), like <c>docker build --add-host</c>.</summary>
    public IList<string> ExtraHosts { get; set; } = new List<string>();

    /// <summary>
    /// For apt builds, map the host names of this machine's apt mirrors (read from /etc/apt at run
    /// time) to the addresses this machine resolves, so builds use the same mirror. On by default.
    /// </summary>
    public bool AddAptMirrorHosts { get; set; } = true;

    /// <summary>Extra labels on the built image.</summary>
    public IDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Receives the build's output as it happens.</summary>
    public IProgress<RuntimeBuildProgress>? Progress { get; set; }
}

/// <summary>One line of build output.</summary>
/// <param name="Runtime">Runtime being built.</param>
/// <param name="Message">The engine's line (a build step, a command's output, a status).</param>
public sealed record RuntimeBuildProgress(string Runtime, string Message);

/// <summary>The image a runtime resolved to.</summary>
/// <param name="Config">The runtime.</param>
/// <param name="Tag">Image to run: <c>sandboxps-runtime/NAME:HASH</c>, or the runtime's own <c>image</c>.</param>
/// <param name="Built">True when this call built it; false on a cache hit or for a prebuilt image.</param>
public sealed record RuntimeImage(RuntimeConfig Config, string Tag, bool Built);

/// <summary>
/// Builds runtime images through the Docker Engine API (<c>POST /build</c> with a tar context),
/// streaming progress and caching by tag. Thread-safe; identical concurrent builds run once.
/// </summary>
/// <remarks>CLI: <c>sandboxps runtime build NAME|FILE</c>.</remarks>
public sealed class RuntimeBuilder : IDisposable
{
    private const int FailureLines = 25;
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> BuildLocks = new(StringComparer.Ordinal);

    private readonly DockerEngineClient _engine;
    private readonly bool _ownsEngine;

    /// <summary>A builder for DOCKER_HOST (or the default socket); connects on first use.</summary>
    public RuntimeBuilder() : this(DockerEngineClient.FromEnvironment(), ownsEngine: true)
    {
    }

    internal RuntimeBuilder(DockerEngineClient engine, bool ownsEngine = false)
    {
        _engine = engine;
        _ownsEngine = ownsEngine;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsEngine)
        {
            _engine.Dispose();
        }
    }

    /// <summary>
    /// The runtime's image: built when its tag does not exist yet (or <see cref="RuntimeBuildOptions.Cache"/> is off).
    /// </summary>
    /// <exception cref="SandboxException">ActionFailed "RuntimeBuildFailed" with the build's last lines; DockerEngineUnavailable.</exception>
    public async Task<RuntimeImage> EnsureAsync(RuntimeConfig config, RuntimeBuildOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        options ??= new RuntimeBuildOptions();
        if (config.Image is { } image)
        {
            return new RuntimeImage(config, image, Built: false);
        }

        string? contextDirectory = null;
        string dockerfileName = "Dockerfile";
        string? contextDigest = null;
        if (config.Dockerfile is { } dockerfile)
        {
            (contextDirectory, dockerfileName) = Directory.Exists(dockerfile)
                ? (dockerfile, "Dockerfile")
                : (Path.GetDirectoryName(dockerfile)!, Path.GetFileName(dockerfile));
            if (!File.Exists(Path.Combine(contextDirectory, dockerfileName)))
            {
                throw RuntimeConfig.Invalid("dockerfile", $"There is no Dockerfile at '{Path.Combine(contextDirectory, dockerfileName)}'.");
            }
            contextDigest = DigestDirectory(contextDirectory);
        }
        var tag = config.ImageTag(contextDigest);

        var gate = BuildLocks.GetOrAdd(tag, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (options.Cache && await ImageExistsAsync(tag, cancellationToken).ConfigureAwait(false))
            {
                options.Progress?.Report(new RuntimeBuildProgress(config.Name, $"Using cached image {tag}"));
                return new RuntimeImage(config, tag, Built: false);
            }
            await BuildAsync(config, tag, contextDirectory, dockerfileName, options, cancellationToken).ConfigureAwait(false);
            return new RuntimeImage(config, tag, Built: true);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>True when the engine has an image with this tag.</summary>
    internal async Task<bool> ImageExistsAsync(string tag, CancellationToken ct)
    {
        try
        {
            await _engine.GetJsonAsync($"/images/{tag}/json", DockerJsonContext.Default.ImageInspect, null, ct).ConfigureAwait(false);
            return true;
        }
        catch (SandboxException ex) when (ex.Kind == SandboxErrorKind.NotFound)
        {
            return false;
        }
    }

    private async Task BuildAsync(RuntimeConfig config, string tag, string? contextDirectory, string dockerfileName,
                                  RuntimeBuildOptions options, CancellationToken ct)
    {
        var labels = new Dictionary<string, string>(options.Labels, StringComparer.Ordinal)
        {
            [SandboxLabels.Runtime] = config.Name,
            ["sandboxps.runtime.hash"] = tag[(tag.LastIndexOf(':') + 1)..],
        };
        var query = new StringBuilder("/build?rm=1&forcerm=1&t=").Append(DockerEngineClient.Q(tag))
            .Append("&dockerfile=").Append(DockerEngineClient.Q(dockerfileName))
            .Append("&labels=").Append(DockerEngineClient.Q(JsonSerializer.Serialize(labels, DockerJsonContext.Default.DictionaryStringString)));
        var hosts = new List<string>(options.ExtraHosts);
        if (options.AddAptMirrorHosts && config.PackageManager == "apt")
        {
            hosts.AddRange(await AptMirror.ExtraHostsAsync(ct).ConfigureAwait(false));
        }
        foreach (var host in hosts.Distinct(StringComparer.Ordinal))
        {
            query.Append("&extrahosts=").Append(DockerEngineClient.Q(host));
        }

        await using var context = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 81920,
                                                 FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        if (contextDirectory is null)
        {
            WriteGeneratedContext(context, DockerfileGenerator.Generate(config));
        }
        else
        {
            await TarFile.CreateFromDirectoryAsync(contextDirectory, context, includeBaseDirectory: false, ct).ConfigureAwait(false);
        }
        context.Position = 0;

        options.Progress?.Report(new RuntimeBuildProgress(config.Name, $"Building {tag}"));
        using var body = new StreamContent(context);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
        using var response = await _engine.SendStreamingAsync(HttpMethod.Post, query.ToString(), body,
            new DockerErrorMap { Target = config.Name }, ct).ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var reader = new StreamReader(stream, Encoding.UTF8);

        var last = new Queue<string>();
        string? error = null;
        var succeeded = false;
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            BuildMessage? message;
            try
            {
                message = JsonSerializer.Deserialize(line, DockerJsonContext.Default.BuildMessage);
            }
            catch (JsonException)
            {
                message = new BuildMessage { Stream = line };
            }
            if (message is null)
            {
                continue;
            }
            if ((message.ErrorDetail?.Message ?? message.Error) is { } failure)
            {
                error = failure;
                break;
            }
            if (message.Aux is { ValueKind: JsonValueKind.Object } aux && aux.TryGetProperty("ID", out _))
            {
                succeeded = true;
            }
            var text = message.Stream ?? (message.Status is null ? null : message.Status + (message.Progress is null ? "" : " " + message.Progress));
            if (text is null)
            {
                continue;
            }
            foreach (var part in text.Split('\n'))
            {
                var trimmed = part.TrimEnd('\r');
                if (trimmed.Length == 0)
                {
                    continue;
                }
                if (trimmed.StartsWith("Successfully tagged ", StringComparison.Ordinal))
                {
                    succeeded = true;
                }
                last.Enqueue(trimmed);
                if (last.Count > FailureLines)
                {
                    last.Dequeue();
                }
                options.Progress?.Report(new RuntimeBuildProgress(config.Name, trimmed));
            }
        }
        if (error is not null || !succeeded)
        {
            var lines = string.Join("\n", last.Select(l => "  " + l));
            throw new SandboxException(SandboxErrorKind.ActionFailed, "RuntimeBuildFailed",
                $"Building runtime '{config.Name}' ({tag}) failed: {error?.Trim() ?? "the build ended without producing an image"}\nLast build output:\n{lines}",
                config.Name)
            {
                RecommendedAction = "Fix the failing package or setup command; base images must exist locally or be pullable.",
            };
        }
    }

    private static void WriteGeneratedContext(Stream destination, string dockerfile)
    {
        using var writer = new TarWriter(destination, TarEntryFormat.Pax, leaveOpen: true);
        var bytes = Encoding.UTF8.GetBytes(dockerfile);
        writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "Dockerfile")
        {
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            ModificationTime = DateTimeOffset.UnixEpoch,
            DataStream = new MemoryStream(bytes),
        });
    }

    /// <summary>SHA-256 over every file's relative path and content (sorted), so a changed context rebuilds.</summary>
    internal static string DigestDirectory(string directory)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
                                      .Select(f => Path.GetRelativePath(directory, f).Replace('\\', '/'))
                                      .Where(f => !f.StartsWith(".git/", StringComparison.Ordinal))
                                      .Order(StringComparer.Ordinal))
        {
            sha.AppendData(Encoding.UTF8.GetBytes(file + "\0"));
            using var content = File.OpenRead(Path.Combine(directory, file));
            sha.AppendData(SHA256.HashData(content));
        }
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }
}

/// <summary>This machine's apt mirrors, as <c>host:ip</c> entries for build containers.</summary>
public static class AptMirror
{
    /// <summary>
    /// Host names of the mirrors in /etc/apt/sources.list and /etc/apt/sources.list.d (read now),
    /// each with the IPv4 address this machine resolves for it. Empty when there is no apt.
    /// </summary>
    public static async Task<IReadOnlyList<string>> ExtraHostsAsync(CancellationToken cancellationToken = default)
    {
        var result = new List<string>();
        foreach (var host in MirrorHosts())
        {
            try
            {
                var addresses = await Dns.GetHostAddressesAsync(host, AddressFamily.InterNetwork, cancellationToken).ConfigureAwait(false);
                if (addresses.Length > 0)
                {
                    result.Add(host + ":" + addresses[0]);
                }
            }
            catch (SocketException)
            {
                // Unresolvable here: the build cannot use it either way.
            }
        }
        return result;
    }

    /// <summary>Host names of http(s) mirrors in this machine's apt sources.</summary>
    public static IReadOnlyList<string> MirrorHosts()
    {
        var files = new List<string>();
        if (File.Exists("/etc/apt/sources.list"))
        {
            files.Add("/etc/apt/sources.list");
        }
        if (Directory.Exists("/etc/apt/sources.list.d"))
        {
            files.AddRange(Directory.EnumerateFiles("/etc/apt/sources.list.d").Where(f => f.EndsWith(".list", StringComparison.Ordinal) || f.EndsWith(".sources", StringComparison.Ordinal)));
        }
        var hosts = new List<string>();
        foreach (var file in files)
        {
            IEnumerable<string> lines;
            try
            {
                lines = File.ReadAllLines(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            foreach (var raw in lines)
            {
                var line = raw.Trim();
                IEnumerable<string> uris = line.StartsWith("URIs:", StringComparison.OrdinalIgnoreCase)
                    ? line[5..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
                    : line.StartsWith("deb", StringComparison.Ordinal)
                        ? line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => w.Contains("://", StringComparison.Ordinal))
                        : [];
                foreach (var uri in uris)
                {
                    if (Uri.TryCreate(uri, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https"
                        && parsed.HostNameType == UriHostNameType.Dns && parsed.Host != "localhost" && !hosts.Contains(parsed.Host))
                    {
                        hosts.Add(parsed.Host);
                    }
                }
            }
        }
        return hosts;
    }
}
