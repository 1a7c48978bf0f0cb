using System.Collections.Concurrent;
using System.Formats.Tar;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SandboxPS.Core.Runtimes;

namespace SandboxPS.Core.Providers.Docker;

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
