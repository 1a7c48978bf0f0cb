using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using SandboxPS.Core.Providers.Kit;
using SandboxPS.Core.Runtimes;

namespace SandboxPS.Core.Providers.Docker;

/// <summary>
/// Sandboxes as containers of the local (or DOCKER_HOST) Docker engine. Works with any x64 Linux
/// image: the static server is bind-mounted read-only (local engine) or copied (remote engine or
/// serverMount=copy) into the created container and is its entrypoint. The engine
/// is not contacted until the first call, so a machine without Docker only fails when Docker is used.
/// One concern per file: this one the provider contract; creating in DockerProvider.Create.cs, the
/// spec rules in DockerSpecRules.cs, the engine request in DockerContainerRequest.cs, state mapping in
/// DockerStateMapping.cs, images in DockerImages.cs, container lookups in DockerContainers.cs.
/// </summary>
/// <remarks>CLI: <c>sandboxps new --provider docker --image IMAGE</c>.</remarks>
public sealed partial class DockerProvider : ISandboxProvider, ILogSource, IPausable, ISandboxTokenSource, IDisposable
{
    /// <summary>Provider name.</summary>
    public const string ProviderName = "docker";

    /// <summary>Port the server listens on inside the container (published on 127.0.0.1 only).</summary>
    public const int ServerPort = 8787;

    /// <summary>Where the server binary and its socket directory live inside the container.</summary>
    public const string ContainerDirectory = ServerPayload.SandboxDirectory;

    /// <summary>Path of the server binary inside the container.</summary>
    public const string ContainerServerPath = ServerPayload.SandboxServerPath;

    /// <summary>Directory bind-mounted from the host for the unix socket (network none or host).</summary>
    public const string ContainerRunDirectory = ContainerDirectory + "/run";

    /// <summary>Time to live when the spec gives none (see README, Docker section).</summary>
    public static readonly TimeSpan DefaultTimeToLive = TimeSpan.FromHours(4);

    /// <summary>Label holding the host directory of the unix socket, so any process can remove it.</summary>
    public const string RunDirectoryLabel = "sandboxps.docker.rundir";

    /// <summary>Environment variable that overrides the host directory of unix sockets.</summary>
    public const string RunDirectoryVariable = "SANDBOXPS_DOCKER_RUN_DIR";

    private const int FailureLogLines = 20;

    private readonly Lazy<DockerEngineClient> _engine;
    private readonly Lazy<RuntimeBuilder> _runtimes;
    private readonly string[] _scope;
    private readonly IReadOnlyDictionary<string, string> _scopeLabels;
    private readonly ConcurrentDictionary<string, string> _containerIds = new(StringComparer.Ordinal);
    private readonly Lazy<ServerPayload> _payload;

    /// <summary>A provider for DOCKER_HOST (or the default socket), connected on first use.</summary>
    public DockerProvider() : this(null)
    {
    }

    /// <summary>
    /// A provider for the given DOCKER_HOST value (null = the environment's), optionally scoped:
    /// with <paramref name="scopeLabels"/>, every container it creates carries them and it lists,
    /// finds and reaps only containers that carry them (one CI job, one team, one test run).
    /// </summary>
    public DockerProvider(string? dockerHost, IReadOnlyDictionary<string, string>? scopeLabels = null)
    {
        if (scopeLabels is not null)
        {
            foreach (var key in scopeLabels.Keys)
            {
                if (key.StartsWith(SandboxLabels.Prefix, StringComparison.OrdinalIgnoreCase))
                {
                    throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidSpec,
                        $"Scope label '{key}' uses the reserved prefix '{SandboxLabels.Prefix}'.", nameof(scopeLabels));
                }
            }
        }
        _scope = scopeLabels is null ? [] : scopeLabels.Select(l => l.Key + "=" + l.Value).ToArray();
        _scopeLabels = scopeLabels ?? new Dictionary<string, string>();
        _engine = new Lazy<DockerEngineClient>(() => dockerHost is null
            ? DockerEngineClient.FromEnvironment()
            : new DockerEngineClient(DockerEndpoint.Parse(dockerHost)));
        _runtimes = new Lazy<RuntimeBuilder>(() => new RuntimeBuilder(_engine.Value));
        _payload = new Lazy<ServerPayload>(() => new ServerPayload(ServerBinaryPath));
    }

    /// <summary>
    /// The <c>sandboxps-server</c> binary to mount or copy into containers; null (the default) finds
    /// it as <see cref="ServerBinary.Locate"/> does (<c>SANDBOXPS_SERVER_PATH</c>, then beside the program).
    /// </summary>
    public string? ServerBinaryPath { get; init; }

    /// <summary>
    /// Host directory under which the socket directories of network-none sandboxes are made; null
    /// (the default) means <c>SANDBOXPS_DOCKER_RUN_DIR</c>, else <c>/run/sandboxps/docker</c> (root)
    /// or <c>$XDG_RUNTIME_DIR/sandboxps/docker</c>.
    /// </summary>
    public string? RunDirectoryRoot { get; init; }

    /// <inheritdoc />
    public string Name => ProviderName;

    internal DockerEngineClient Engine => _engine.Value;

    /// <summary>The labels that scope this provider (every container it makes carries them).</summary>
    internal IReadOnlyDictionary<string, string> ScopeLabels => _scopeLabels;

    /// <summary>Builds runtime images; shares this provider's engine connection.</summary>
    public RuntimeBuilder Runtimes => _runtimes.Value;

    /// <summary>Options of builds that <see cref="CreateAsync"/> starts for <see cref="SandboxSpec.Runtime"/>.</summary>
    public RuntimeBuildOptions RuntimeBuildOptions { get; set; } = new();

    /// <inheritdoc />
    public void Dispose()
    {
        if (_engine.IsValueCreated)
        {
            _engine.Value.Dispose();
        }
    }

    /// <inheritdoc />
    public async Task<Sandbox?> GetAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(idOrName);
        foreach (var key in new[] { SandboxLabels.Id, SandboxLabels.Name })
        {
            var found = await ListContainersAsync([key + "=" + idOrName], cancellationToken).ConfigureAwait(false);
            if (found.Count > 0)
            {
                return ToSandbox(found[0]);
            }
        }
        return null;
    }

    /// <inheritdoc />
    public async Task<SandboxStatus> GetStatusAsync(string id, CancellationToken cancellationToken = default)
    {
        var containerId = await ResolveContainerIdAsync(id, cancellationToken).ConfigureAwait(false);
        var inspect = containerId is null ? null : await InspectAsync(containerId, cancellationToken).ConfigureAwait(false);
        if (inspect is null)
        {
            _containerIds.TryRemove(id, out _);
            return new SandboxStatus(SandboxState.Gone, "The container no longer exists.");
        }
        var state = MapState(inspect.State);
        if (inspect.State?.Status == "created" && inspect.Config?.Labels is { } labels && ManagedSandbox.NeverStarted(labels, DateTimeOffset.UtcNow))
        {
            return new SandboxStatus(SandboxState.Failed,
                $"Never started: its creator ({labels.GetValueOrDefault(SandboxLabels.Owner)}) stopped before starting it.");
        }
        if (state is not (SandboxState.Failed or SandboxState.Stopped))
        {
            return new SandboxStatus(state);
        }
        var lines = await TryGetLogsAsync(inspect.Id, FailureLogLines, cancellationToken).ConfigureAwait(false);
        return new SandboxStatus(state, EndReason(inspect.State!), inspect.State!.ExitCode, lines);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<Sandbox> ListAsync(IReadOnlyDictionary<string, string>? labelFilter = null,
                                                     [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var filters = new List<string>();
        if (labelFilter is not null)
        {
            foreach (var (key, value) in labelFilter)
            {
                filters.Add(key + "=" + value);
            }
        }
        foreach (var container in await ListContainersAsync(filters, cancellationToken).ConfigureAwait(false))
        {
            yield return ToSandbox(container);
        }
    }

    /// <inheritdoc />
    public async Task RemoveAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        var containerId = await ResolveContainerIdAsync(id, cancellationToken).ConfigureAwait(false);
        string? runDirectory = null;
        if (containerId is not null)
        {
            var inspect = await InspectAsync(containerId, cancellationToken).ConfigureAwait(false);
            inspect?.Config?.Labels?.TryGetValue(RunDirectoryLabel, out runDirectory);
            await DeleteContainerAsync(containerId, cancellationToken).ConfigureAwait(false);
        }
        _containerIds.TryRemove(id, out _);
        // The directory is named after our id; accept the label's only when it is.
        runDirectory = runDirectory is not null && Path.GetFileName(runDirectory) == id ? runDirectory : Path.Combine(RunDirectoryRoot ?? DockerRunDirectory.Base(), id);
        if (DockerSpecRules.IsValidId(id))
        {
            DockerRunDirectory.Delete(runDirectory);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> GetLogsAsync(string id, int tail, CancellationToken cancellationToken = default)
    {
        var containerId = await ResolveContainerIdAsync(id, cancellationToken).ConfigureAwait(false)
                          ?? throw NotFound(id);
        return await GetContainerLogsAsync(containerId, tail, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task PauseAsync(string id, CancellationToken cancellationToken = default)
    {
        var containerId = await ResolveContainerIdAsync(id, cancellationToken).ConfigureAwait(false) ?? throw NotFound(id);
        await Engine.SendAsync(HttpMethod.Post, $"/containers/{containerId}/pause", null, ContainerErrors(id), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task ResumeAsync(string id, CancellationToken cancellationToken = default)
    {
        var containerId = await ResolveContainerIdAsync(id, cancellationToken).ConfigureAwait(false) ?? throw NotFound(id);
        await Engine.SendAsync(HttpMethod.Post, $"/containers/{containerId}/unpause", null, ContainerErrors(id), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The bearer token of a sandbox made by any process, read from its container's environment
    /// (never from a command line).
    /// </summary>
    public async Task<string> GetTokenAsync(string id, CancellationToken cancellationToken = default)
    {
        var containerId = await ResolveContainerIdAsync(id, cancellationToken).ConfigureAwait(false) ?? throw NotFound(id);
        var inspect = await InspectAsync(containerId, cancellationToken).ConfigureAwait(false) ?? throw NotFound(id);
        return ServerToken.FromEnvironment(inspect.Config?.Env) ?? throw new SandboxException(SandboxErrorKind.Unauthorized, "SandboxTokenNotFound",
            $"Container {Short(containerId)} of sandbox '{id}' carries no {Protocol.ProtocolConstants.TokenEnvironmentVariable}; it was not made by SandboxPS.", id);
    }
}
