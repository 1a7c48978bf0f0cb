using System.Globalization;
using System.Text.RegularExpressions;
using SandboxPS.Core.Providers.Kit;

namespace SandboxPS.Core.Providers.Docker;

/// <summary>Engine container state → <see cref="SandboxState"/>; containers → <see cref="Sandbox"/> handles.</summary>
public sealed partial class DockerProvider
{
    private Sandbox ToSandbox(ContainerInspect inspect, IReadOnlyDictionary<string, string>? knownLabels = null)
    {
        var labels = knownLabels ?? (IReadOnlyDictionary<string, string>?)inspect.Config?.Labels ?? new Dictionary<string, string>();
        string? endpoint = null;
        if (labels.TryGetValue(RunDirectoryLabel, out var runDirectory))
        {
            endpoint = DockerRunDirectory.Endpoint(runDirectory);
        }
        else if (inspect.NetworkSettings?.Ports?.TryGetValue(DockerContainerRequest.ServerPortKey, out var bindings) == true
                 && bindings?.FirstOrDefault(b => !string.IsNullOrEmpty(b.HostPort)) is { } binding
                 && int.TryParse(binding.HostPort, NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            endpoint = ServerEndpoint.Loopback(port);
        }
        var sandbox = ManagedSandbox.FromLabels(ProviderName, labels, Short(inspect.Id), MapState(inspect.State), endpoint,
                                                inspect.Config?.Image, notStarted: inspect.State?.Status == "created");
        _containerIds[sandbox.Id] = inspect.Id;
        return sandbox;
    }

    private static Sandbox ToSandbox(ContainerSummary container)
    {
        var labels = (IReadOnlyDictionary<string, string>?)container.Labels ?? new Dictionary<string, string>();
        string? endpoint = null;
        if (labels.TryGetValue(RunDirectoryLabel, out var runDirectory))
        {
            endpoint = DockerRunDirectory.Endpoint(runDirectory);
        }
        else if (container.Ports?.FirstOrDefault(p => p.PrivatePort == ServerPort && p.PublicPort > 0 && p.IP is "127.0.0.1") is { } port)
        {
            endpoint = ServerEndpoint.Loopback(port.PublicPort);
        }
        return ManagedSandbox.FromLabels(ProviderName, labels, Short(container.Id), MapSummaryState(container.State, container.Status), endpoint,
                                         container.Image, notStarted: container.State == "created");
    }

    internal static SandboxState MapState(ContainerState? state) => state?.Status switch
    {
        "created" => SandboxState.Starting,
        "restarting" => SandboxState.Starting,
        "running" => SandboxState.Running,
        "paused" => SandboxState.Paused,
        "removing" => SandboxState.Stopped,
        "exited" => state.ExitCode == 0 && !state.OOMKilled ? SandboxState.Stopped : SandboxState.Failed,
        "dead" => SandboxState.Failed,
        _ => SandboxState.Failed,
    };

    internal static SandboxState MapSummaryState(string? state, string? status)
    {
        switch (state)
        {
            case "created":
            case "restarting":
                return SandboxState.Starting;
            case "running":
                return SandboxState.Running;
            case "paused":
                return SandboxState.Paused;
            case "removing":
                return SandboxState.Stopped;
            case "exited":
                var match = ExitedStatusRegex().Match(status ?? "");
                return match.Success && match.Groups[1].Value == "0" ? SandboxState.Stopped : SandboxState.Failed;
            default:
                return SandboxState.Failed;
        }
    }

    [GeneratedRegex(@"^Exited \((-?\d+)\)")]
    private static partial Regex ExitedStatusRegex();

    /// <summary>Why a container that ended did so: OOM, dead, the engine's error, or its exit code.</summary>
    private static string EndReason(ContainerState st) =>
        st.OOMKilled ? "OOMKilled"
        : st.Dead ? "The container is dead: " + st.Error
        : !string.IsNullOrEmpty(st.Error) ? $"Exited with code {st.ExitCode}: {st.Error}"
        : $"Exited with code {st.ExitCode}.";
}
