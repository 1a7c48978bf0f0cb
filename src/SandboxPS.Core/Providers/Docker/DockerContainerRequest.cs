using System.Globalization;
using SandboxPS.Core.Providers.Kit;
using SandboxPS.Protocol;

namespace SandboxPS.Core.Providers.Docker;

/// <summary>What <see cref="DockerProvider.CreateAsync"/> decided before it builds the engine's request.</summary>
internal sealed record DockerCreatePlan
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required string Image { get; init; }
    public required string Token { get; init; }
    public required TimeSpan TimeToLive { get; init; }
    public required Dictionary<string, string> Labels { get; init; }
    public required IReadOnlyDictionary<string, string> Environment { get; init; }
    public string? User { get; init; }
    public string? WorkingDirectory { get; init; }
    public required bool Init { get; init; }
    public required ServerDelivery Delivery { get; init; }
    public string? ServerPath { get; init; }
    /// <summary>Host directory of the unix socket (network none/host); null = a published loopback port.</summary>
    public string? RunDirectory { get; init; }
    public required uint HostUid { get; init; }
}

/// <summary>The mapping from a <see cref="SandboxSpec"/> (and its <see cref="DockerCreatePlan"/>) to the engine's container-create request.</summary>
internal static class DockerContainerRequest
{
    internal static readonly string ServerPortKey = DockerProvider.ServerPort.ToString(CultureInfo.InvariantCulture) + "/tcp";

    /// <summary>The server's command line inside the container, from the shared launch-options type.</summary>
    internal static ServerLaunchOptions LaunchOptions(SandboxSpec spec, DockerCreatePlan plan)
    {
        var nonRootUser = plan.User is { } u && !DockerSpecRules.IsRootUser(u);
        // Without a working directory, a non-root user or a read-only root gets the server working in
        // /tmp (writable there); the engine does not create it (an image without /tmp then fails
        // readiness with the server's own message). A given directory is created by the engine.
        var workDir = plan.WorkingDirectory ?? (nonRootUser || spec.ReadOnlyRootFilesystem ? "/tmp" : null);
        return new ServerLaunchOptions
        {
            UnixSocket = plan.RunDirectory is null ? null : DockerProvider.ContainerRunDirectory + "/" + DockerRunDirectory.SocketFileName,
            // The socket belongs to the container's user (root, or whoever --user names), not to the
            // calling host user: open its mode so that user can connect. The run directory (0700 and
            // ours when the container runs as root) and the token guard it.
            UnixMode = plan.RunDirectory is not null && plan.HostUid != 0
                ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite
                : null,
            Listen = plan.RunDirectory is null ? ServerLaunchOptions.ListenOn("0.0.0.0", DockerProvider.ServerPort) : null,
            WorkDir = workDir,
            Ttl = plan.TimeToLive,
            IdleTimeout = spec.IdleTimeout,
            MaxSessions = spec.MaxSessions,
        };
    }

    internal static ContainerCreateRequest Build(SandboxSpec spec, DockerCreatePlan plan)
    {
        var env = new List<string>(plan.Environment.Count + 1);
        foreach (var (key, value) in plan.Environment)
        {
            env.Add(key + "=" + value);
        }
        env.Add(ServerToken.EnvironmentEntry(plan.Token));
        var entrypoint = new List<string> { DockerProvider.ContainerServerPath };
        entrypoint.AddRange(LaunchOptions(spec, plan).ToArguments());

        var mounts = new List<ContainerMount>();
        if (plan.Delivery == ServerDelivery.Mount)
        {
            // A local engine sees this machine's files: the server is bind-mounted read-only (0755 on
            // the host, so any container user can run it) instead of copied into every container.
            // Mounts, not Binds: a path with ':' or ',' breaks the Binds string syntax.
            mounts.Add(new ContainerMount { Type = "bind", Source = plan.ServerPath!, Target = DockerProvider.ContainerServerPath, ReadOnly = true });
        }
        else if (spec.ReadOnlyRootFilesystem)
        {
            // The archive API refuses to write into a read-only root, but writes into volumes: the
            // server binary goes into an anonymous volume, removed with the container (v=1) and
            // labelled like it, so a leftover can be found.
            mounts.Add(new ContainerMount
            {
                Type = "volume",
                Target = DockerProvider.ContainerDirectory,
                VolumeOptions = new MountVolumeOptions { Labels = new Dictionary<string, string>(plan.Labels, StringComparer.Ordinal) },
            });
        }
        if (plan.RunDirectory is not null)
        {
            mounts.Add(new ContainerMount { Type = "bind", Source = plan.RunDirectory, Target = DockerProvider.ContainerRunDirectory });
        }
        var tcp = plan.RunDirectory is null;
        return new ContainerCreateRequest
        {
            Image = plan.Image,
            Entrypoint = entrypoint.ToArray(),
            Cmd = [],
            Env = env,
            WorkingDir = plan.WorkingDirectory,
            User = plan.User,
            Labels = plan.Labels,
            ExposedPorts = tcp ? new Dictionary<string, EmptyObject> { [ServerPortKey] = new() } : null,
            StopSignal = "SIGTERM",
            HostConfig = new ContainerHostConfig
            {
                Memory = spec.MemoryBytes,
                MemorySwap = spec.MemoryBytes, // no swap on top: a hog is killed, not slowed down
                NanoCpus = spec.Cpus is { } cpus ? (long)Math.Round(cpus * 1_000_000_000d) : null,
                PidsLimit = spec.PidsLimit,
                NetworkMode = spec.NetworkMode,
                ReadonlyRootfs = spec.ReadOnlyRootFilesystem,
                SecurityOpt = ["no-new-privileges"],
                Init = plan.Init, // explicit: an engine whose daemon.json says init=true does not decide for us
                AutoRemove = false, // exit codes and logs must survive the exit
                PortBindings = tcp ? new Dictionary<string, List<PortBinding>>
                {
                    [ServerPortKey] = [new PortBinding { HostIp = "127.0.0.1", HostPort = "" }],
                } : null,
                Tmpfs = spec.ReadOnlyRootFilesystem ? new Dictionary<string, string> { ["/tmp"] = "rw,exec,nosuid,nodev,mode=1777" } : null,
                Mounts = mounts.Count == 0 ? null : mounts,
            },
        };
    }
}
