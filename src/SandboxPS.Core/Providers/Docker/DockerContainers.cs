using System.Globalization;

namespace SandboxPS.Core.Providers.Docker;

/// <summary>Finding our containers on the engine: by label, by sandbox id (cached), inspect and logs.</summary>
public sealed partial class DockerProvider
{
    private async Task<ContainerInspect?> InspectAsync(string containerId, CancellationToken cancellationToken)
    {
        try
        {
            return await Engine.GetJsonAsync($"/containers/{containerId}/json", DockerJsonContext.Default.ContainerInspect,
                ContainerErrors(containerId), cancellationToken).ConfigureAwait(false);
        }
        catch (SandboxException ex) when (ex.Kind == SandboxErrorKind.NotFound)
        {
            return null;
        }
    }

    /// <summary>Managed containers in this provider's scope that carry every one of <paramref name="labelFilters"/>.</summary>
    private async Task<List<ContainerSummary>> ListContainersAsync(IEnumerable<string> labelFilters, CancellationToken cancellationToken)
    {
        var filters = labelFilters.Concat(_scope).Append(SandboxLabels.Managed + "=true").Distinct(StringComparer.Ordinal);
        var list = await Engine.GetJsonAsync("/containers/json?all=1&filters=" + DockerEngineClient.LabelFilters(filters),
            DockerJsonContext.Default.ListContainerSummary, null, cancellationToken).ConfigureAwait(false);
        foreach (var container in list)
        {
            if (container.Labels?.TryGetValue(SandboxLabels.Id, out var sid) == true)
            {
                _containerIds[sid] = container.Id;
            }
        }
        return list;
    }

    private async Task<string?> ResolveContainerIdAsync(string id, CancellationToken cancellationToken)
    {
        if (_containerIds.TryGetValue(id, out var known))
        {
            return known;
        }
        var found = await ListContainersAsync([SandboxLabels.Id + "=" + id], cancellationToken).ConfigureAwait(false);
        return found.Count > 0 ? found[0].Id : null;
    }

    private async Task<IReadOnlyList<string>> GetContainerLogsAsync(string containerId, int tail, CancellationToken cancellationToken)
    {
        using var response = await Engine.SendStreamingAsync(HttpMethod.Get,
            $"/containers/{containerId}/logs?stdout=1&stderr=1&tail={Math.Max(1, tail).ToString(CultureInfo.InvariantCulture)}",
            null, ContainerErrors(containerId), cancellationToken).ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var text = await DockerEngineClient.ReadMultiplexedAsync(stream, cancellationToken).ConfigureAwait(false);
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        return lines.Take(count).TakeLast(tail).ToArray();
    }

    private async Task<IReadOnlyList<string>> TryGetLogsAsync(string containerId, int tail, CancellationToken cancellationToken)
    {
        try
        {
            return await GetContainerLogsAsync(containerId, tail, cancellationToken).ConfigureAwait(false);
        }
        catch (SandboxException)
        {
            return [];
        }
    }

    /// <summary>Force-removes a container with its anonymous volumes; a container already gone is fine.</summary>
    private Task DeleteContainerAsync(string containerId, CancellationToken cancellationToken) =>
        Engine.SendAsync(HttpMethod.Delete, $"/containers/{containerId}?force=1&v=1", null, null, cancellationToken,
            System.Net.HttpStatusCode.NotFound);

    private static DockerErrorMap ContainerErrors(string target) =>
        DockerErrorMap.NotFound("SandboxNotFound", target, "List sandboxes with 'sandboxps ls --provider docker'.");

    private static SandboxException NotFound(string id) =>
        new(SandboxErrorKind.NotFound, "SandboxNotFound", $"No docker sandbox with id '{id}'.", id)
        {
            RecommendedAction = "List sandboxes with 'sandboxps ls --provider docker'.",
        };

    private static string Short(string containerId) => containerId.Length > 12 ? containerId[..12] : containerId;
}
