using System.Text.Json;
using System.Text.Json.Serialization;

namespace SandboxPS.Core.Providers.Docker;

// The subset of the Docker Engine API (v1.41) this provider speaks. Property names are the engine's
// own (PascalCase); nulls are left out of requests so the engine applies its defaults.

/// <summary><c>GET /version</c>.</summary>
internal sealed record DockerVersion
{
    public string? Version { get; init; }
    public string? ApiVersion { get; init; }
    public string? MinAPIVersion { get; init; }
    public string? Os { get; init; }
    public string? Arch { get; init; }
    public List<DockerComponent>? Components { get; init; }
}

/// <summary>One entry of <c>Components</c> in <c>GET /version</c> (Engine, containerd, runc, docker-init).</summary>
internal sealed record DockerComponent
{
    public string? Name { get; init; }
    public string? Version { get; init; }
}

/// <summary>Error body of every failed engine call.</summary>
internal sealed record DockerErrorBody
{
    [JsonPropertyName("message")]
    public string? Message { get; init; }
}

/// <summary><c>POST /containers/create</c>.</summary>
internal sealed record ContainerCreateRequest
{
    public required string Image { get; init; }
    public string[]? Entrypoint { get; init; }
    public string[]? Cmd { get; init; }
    public List<string>? Env { get; init; }
    public string? WorkingDir { get; init; }
    public string? User { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
    public Dictionary<string, EmptyObject>? ExposedPorts { get; init; }
    public bool Tty { get; init; }
    public bool OpenStdin { get; init; }
    public bool AttachStdin { get; init; }
    public bool AttachStdout { get; init; }
    public bool AttachStderr { get; init; }
    public string? StopSignal { get; init; }
    public required ContainerHostConfig HostConfig { get; init; }
}

/// <summary>An empty JSON object (<c>{}</c>), as ExposedPorts wants.</summary>
internal sealed record EmptyObject;

/// <summary>The host side of a container: limits, network, mounts, security.</summary>
internal sealed record ContainerHostConfig
{
    public long? Memory { get; init; }
    public long? MemorySwap { get; init; }
    public long? NanoCpus { get; init; }
    public long? PidsLimit { get; init; }
    public string? NetworkMode { get; init; }
    public bool ReadonlyRootfs { get; init; }
    public List<string>? SecurityOpt { get; init; }
    public bool? Init { get; init; }
    public bool AutoRemove { get; init; }
    public bool Privileged { get; init; }
    public List<string>? CapDrop { get; init; }
    public Dictionary<string, List<PortBinding>>? PortBindings { get; init; }
    public List<string>? Binds { get; init; }
    public Dictionary<string, string>? Tmpfs { get; init; }
    public List<ContainerMount>? Mounts { get; init; }
    public List<string>? ExtraHosts { get; init; }
}

/// <summary>One host binding of a container port.</summary>
internal sealed record PortBinding
{
    public string? HostIp { get; init; }
    public string? HostPort { get; init; }
}

/// <summary>
/// A mount of <c>HostConfig.Mounts</c> (API 1.25+): structured, so host paths with ':' or ','
/// (which break the <c>Binds</c> string syntax) mount as they are.
/// </summary>
internal sealed record ContainerMount
{
    public required string Type { get; init; }
    public string? Source { get; init; }
    public required string Target { get; init; }
    public bool ReadOnly { get; init; }
    public MountVolumeOptions? VolumeOptions { get; init; }
}

/// <summary><c>VolumeOptions</c> of a volume mount: labels of the (anonymous) volume the engine creates.</summary>
internal sealed record MountVolumeOptions
{
    public Dictionary<string, string>? Labels { get; init; }
}

/// <summary>Answer of <c>POST /containers/create</c>.</summary>
internal sealed record ContainerCreateResponse
{
    public required string Id { get; init; }
    public List<string>? Warnings { get; init; }
}

/// <summary><c>GET /containers/{id}/json</c> (the fields we read).</summary>
internal sealed record ContainerInspect
{
    public required string Id { get; init; }
    public string? Name { get; init; }
    public string? Created { get; init; }
    public string? Image { get; init; }
    public ContainerState? State { get; init; }
    public ContainerConfig? Config { get; init; }
    public ContainerNetworkSettings? NetworkSettings { get; init; }
    public ContainerHostConfig? HostConfig { get; init; }
}

/// <summary>State of an inspected container.</summary>
internal sealed record ContainerState
{
    public string? Status { get; init; }
    public bool Running { get; init; }
    public bool Paused { get; init; }
    public bool Restarting { get; init; }
    public bool OOMKilled { get; init; }
    public bool Dead { get; init; }
    public int ExitCode { get; init; }
    public string? Error { get; init; }
    public string? StartedAt { get; init; }
    public string? FinishedAt { get; init; }
}

/// <summary>Config of an inspected container.</summary>
internal sealed record ContainerConfig
{
    public string? Image { get; init; }
    public List<string>? Env { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
    public string? User { get; init; }
    public string? WorkingDir { get; init; }
}

/// <summary>Network settings of an inspected container.</summary>
internal sealed record ContainerNetworkSettings
{
    public Dictionary<string, List<PortBinding>?>? Ports { get; init; }
}

/// <summary>One entry of <c>GET /containers/json</c>.</summary>
internal sealed record ContainerSummary
{
    public required string Id { get; init; }
    public List<string>? Names { get; init; }
    public string? Image { get; init; }
    public long Created { get; init; }
    public string? State { get; init; }
    public string? Status { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
    public List<ContainerPort>? Ports { get; init; }
}

/// <summary>A port of <see cref="ContainerSummary"/>.</summary>
internal sealed record ContainerPort
{
    public string? IP { get; init; }
    public int PrivatePort { get; init; }
    public int PublicPort { get; init; }
    public string? Type { get; init; }
}

/// <summary><c>GET /images/{name}/json</c> (the fields we read).</summary>
internal sealed record ImageInspect
{
    public required string Id { get; init; }
    public List<string>? RepoTags { get; init; }
    public ImageConfig? Config { get; init; }
}

/// <summary>Config of an inspected image.</summary>
internal sealed record ImageConfig
{
    public string? User { get; init; }
    public string? WorkingDir { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
}

/// <summary>One JSON message of the <c>POST /build</c> progress stream.</summary>
internal sealed record BuildMessage
{
    [JsonPropertyName("stream")]
    public string? Stream { get; init; }
    [JsonPropertyName("status")]
    public string? Status { get; init; }
    [JsonPropertyName("progress")]
    public string? Progress { get; init; }
    [JsonPropertyName("error")]
    public string? Error { get; init; }
    [JsonPropertyName("errorDetail")]
    public BuildErrorDetail? ErrorDetail { get; init; }
    [JsonPropertyName("aux")]
    public JsonElement? Aux { get; init; }
}

/// <summary>The <c>errorDetail</c> of a build message.</summary>
internal sealed record BuildErrorDetail
{
    [JsonPropertyName("code")]
    public int? Code { get; init; }
    [JsonPropertyName("message")]
    public string? Message { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DockerVersion))]
[JsonSerializable(typeof(DockerErrorBody))]
[JsonSerializable(typeof(ContainerCreateRequest))]
[JsonSerializable(typeof(ContainerCreateResponse))]
[JsonSerializable(typeof(ContainerInspect))]
[JsonSerializable(typeof(List<ContainerSummary>))]
[JsonSerializable(typeof(ImageInspect))]
[JsonSerializable(typeof(BuildMessage))]
[JsonSerializable(typeof(Dictionary<string, List<string>>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(List<string>))]
internal sealed partial class DockerJsonContext : JsonSerializerContext;
