using System.Net;
using System.Net.Http.Headers;
using SandboxPS.Core.Providers.Kit;
using SandboxPS.Core.Runtimes;

namespace SandboxPS.Core.Providers.Docker;

/// <summary>Creating a sandbox: resolve the image, decide the plan, create, deliver the server, start.</summary>
public sealed partial class DockerProvider
{
    /// <summary>How long the container-create call may finish after the caller cancelled.</summary>
    internal static readonly TimeSpan CreateGracePeriod = TimeSpan.FromSeconds(15);

    /// <inheritdoc />
    public async Task<Sandbox> CreateAsync(SandboxSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        DockerSpecRules.Validate(spec);
        var plan = await PlanAsync(spec, cancellationToken).ConfigureAwait(false);
        var request = DockerContainerRequest.Build(spec, plan);
        var pull = DockerSpecRules.Pull.Read(spec) == "missing";

        string? containerId = null;
        var lookUp = false;
        var undo = new CreateUndo(ProviderName, plan.Name);
        // Cancelling (Ctrl-C) while the engine creates the container would leave us without its id
        // while the engine goes on creating it: that one call gets a grace period instead, and the
        // cancellation is honoured right after it (the container is then deleted below).
        using var grace = new CancellationTokenSource();
        using var graceOnCancel = cancellationToken.Register(() => grace.CancelAfter(CreateGracePeriod));
        try
        {
            undo.Add("sandbox registration", () => _containerIds.TryRemove(plan.Id, out _));
            if (plan.RunDirectory is { } runDirectory)
            {
                undo.Add("socket directory", () => DockerRunDirectory.Delete(runDirectory));
                DockerRunDirectory.Create(runDirectory, await ContainerRunsAsRootAsync(plan, cancellationToken).ConfigureAwait(false));
            }
            // From the moment the create is sent, a container may exist even when the call breaks off
            // (timeout, lost connection): undo then looks it up by our id label.
            undo.Add("container", async ct =>
            {
                List<string> doomed = containerId is not null ? [containerId]
                           : !lookUp ? []
                           : (await ListContainersAsync([SandboxLabels.Id + "=" + plan.Id], ct).ConfigureAwait(false)).Select(c => c.Id).ToList();
                foreach (var doomedId in doomed)
                {
                    await DeleteContainerAsync(doomedId, ct).ConfigureAwait(false);
                }
            });
            var createPath = "/containers/create?name=" + DockerEngineClient.Q(plan.Name);
            ContainerCreateResponse created;
            lookUp = true;
            try
            {
                created = await Engine.PostJsonAsync(createPath, request,
                    DockerJsonContext.Default.ContainerCreateRequest, DockerJsonContext.Default.ContainerCreateResponse,
                    CreateErrors(plan.Name), grace.Token).ConfigureAwait(false);
            }
            catch (SandboxException ex) when (ex.ErrorId == ImageNotFoundId)
            {
                if (!pull)
                {
                    throw ImageMissing(plan.Image, plan.Name, pullError: null, ex);
                }
                // As 'docker run' does: pull a missing image once, then create again.
                await PullAsync(plan.Image, plan.Name, ex, cancellationToken).ConfigureAwait(false);
                created = await Engine.PostJsonAsync(createPath, request,
                    DockerJsonContext.Default.ContainerCreateRequest, DockerJsonContext.Default.ContainerCreateResponse,
                    CreateErrors(plan.Name), grace.Token).ConfigureAwait(false);
            }
            containerId = created.Id;
            _containerIds[plan.Id] = containerId;
            cancellationToken.ThrowIfCancellationRequested();

            if (plan.Delivery == ServerDelivery.Copy)
            {
                using var archive = new ByteArrayContent(_payload.Value.Archive(flat: spec.ReadOnlyRootFilesystem));
                archive.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
                var target = spec.ReadOnlyRootFilesystem ? ContainerDirectory : "/";
                await Engine.SendAsync(HttpMethod.Put, $"/containers/{containerId}/archive?path={DockerEngineClient.Q(target)}", archive,
                    null, cancellationToken).ConfigureAwait(false);
            }
            await Engine.SendAsync(HttpMethod.Post, $"/containers/{containerId}/start", null, null, cancellationToken,
                HttpStatusCode.NotModified).ConfigureAwait(false);
            var inspect = await InspectAsync(containerId, cancellationToken).ConfigureAwait(false)
                          ?? throw new SandboxException(SandboxErrorKind.Internal, "SandboxVanished",
                              $"Container {Short(containerId)} of sandbox '{plan.Name}' disappeared right after it started.", plan.Name);
            var sandbox = ToSandbox(inspect, plan.Labels);
            sandbox.Token = plan.Token;
            return sandbox;
        }
        catch (Exception ex)
        {
            // The engine refused the create (no image, name taken, bad request): it made nothing to look up.
            lookUp &= !EngineRejected(ex);
            await undo.RollBackAsync().ConfigureAwait(false);
            if (CreateUndo.Surfaces(ex))
            {
                throw;
            }
            throw undo.Wrap(ex);
        }
    }

    /// <summary>Resolves image and runtime and decides everything about the container before the engine is asked to make it.</summary>
    private async Task<DockerCreatePlan> PlanAsync(SandboxSpec spec, CancellationToken cancellationToken)
    {
        var image = spec.Image;
        string? runtimeName = null;
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        var user = spec.User;
        var workingDirectory = spec.WorkingDirectory;
        if (spec.Runtime is { } runtime)
        {
            var built = await Runtimes.EnsureAsync(RuntimeCatalog.Resolve(runtime), RuntimeBuildOptions, cancellationToken).ConfigureAwait(false);
            image = built.Tag;
            runtimeName = built.Config.Name;
            // The runtime's env, user and workdir are defaults (baked into built images too); the spec wins.
            foreach (var (key, value) in built.Config.Env)
            {
                environment[key] = value;
            }
            user ??= built.Config.User;
            workingDirectory ??= built.Config.WorkDir;
        }
        foreach (var (key, value) in spec.Environment)
        {
            environment[key] = value;
        }
        var id = SandboxLabelBuilder.NewId();
        var name = spec.Name ?? SandboxLabelBuilder.DefaultName(id);
        var ttl = spec.TimeToLive ?? DefaultTimeToLive;
        var labels = ManagedSandbox.Labels(id, name, DateTimeOffset.UtcNow, ttl, spec, _scopeLabels, runtimeName);
        var delivery = Delivery(spec, name);
        // init=auto (the default): the engine's own init (docker-init, i.e. tini, shipped with
        // docker.io) when it has one; else the server forks itself as a small PID-1 reaper.
        var init = DockerSpecRules.InitMode(spec) ?? await Engine.HasInitAsync(cancellationToken).ConfigureAwait(false);
        string? runDirectory = null;
        if (spec.NetworkMode is "none" or "host")
        {
            if (!Engine.Endpoint.IsLocal)
            {
                throw new SandboxException(SandboxErrorKind.NotSupported, "NetworkModeNeedsLocalEngine",
                    $"Network mode '{spec.NetworkMode}' reaches the server through a unix socket on this machine, which needs a local engine (DOCKER_HOST is {Engine.Endpoint.Display}).",
                    name);
            }
            runDirectory = Path.Combine(RunDirectoryRoot ?? DockerRunDirectory.Base(), id);
            labels[RunDirectoryLabel] = runDirectory;
        }
        return new DockerCreatePlan
        {
            Id = id,
            Name = name,
            Image = image!,
            Token = ServerToken.New(),
            TimeToLive = ttl,
            Labels = labels,
            Environment = environment,
            User = user,
            WorkingDirectory = workingDirectory,
            Init = init,
            Delivery = delivery,
            ServerPath = delivery == ServerDelivery.Mount ? _payload.Value.BinaryPath : null,
            RunDirectory = runDirectory,
            HostUid = OperatingSystem.IsWindows() ? 0u : DockerRunDirectory.EffectiveUid(),
        };
    }

    /// <summary>Who creates the socket decides its directory's mode: the given user, else the image's (unknown for an image still to be pulled: assume non-root).</summary>
    private async Task<bool> ContainerRunsAsRootAsync(DockerCreatePlan plan, CancellationToken cancellationToken) =>
        plan.User is not null ? DockerSpecRules.IsRootUser(plan.User) : await ImageRunsAsRootAsync(plan.Image, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Mount (local engine, unless serverMount=copy) or Copy (remote engine, or serverMount=copy).
    /// </summary>
    private ServerDelivery Delivery(SandboxSpec spec, string name)
    {
        switch (DockerSpecRules.ServerMount.Read(spec))
        {
            case "copy":
                return ServerDelivery.Copy;
            case "bind" when !Engine.Endpoint.IsLocal:
                throw new SandboxException(SandboxErrorKind.NotSupported, "ServerMountNeedsLocalEngine",
                    $"Option serverMount=bind mounts a file of this machine, which needs a local engine (DOCKER_HOST is {Engine.Endpoint.Display}).",
                    name)
                {
                    RecommendedAction = "Use --provider-option serverMount=copy, or leave the option out.",
                };
            case "bind":
                return ServerDelivery.Mount;
            default:
                return Engine.Endpoint.IsLocal ? ServerDelivery.Mount : ServerDelivery.Copy;
        }
    }

    /// <summary>The engine answered the create with a refusal: it made nothing.</summary>
    private static bool EngineRejected(Exception ex) =>
        ex is SandboxException { Kind: SandboxErrorKind.NotFound or SandboxErrorKind.AlreadyExists or SandboxErrorKind.InvalidArgument
                                   or SandboxErrorKind.NotSupported };

    private static DockerErrorMap CreateErrors(string name) => new()
    {
        Overrides = new Dictionary<HttpStatusCode, (SandboxErrorKind, string)>
        {
            [HttpStatusCode.NotFound] = (SandboxErrorKind.NotFound, ImageNotFoundId),
            [HttpStatusCode.Conflict] = (SandboxErrorKind.AlreadyExists, SandboxErrorIds.SandboxNameInUse),
        },
        Target = name,
        RecommendedAction = $"Choose another name, or remove the old sandbox ('sandboxps rm {name}').",
    };
}
