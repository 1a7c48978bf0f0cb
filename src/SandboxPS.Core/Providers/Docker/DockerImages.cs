namespace SandboxPS.Core.Providers.Docker;

/// <summary>Images: pulling a missing one (or saying why not), and what user an image runs as.</summary>
public sealed partial class DockerProvider
{
    internal const string ImageNotFoundId = "DockerImageNotFound";

    /// <summary><c>POST /images/create</c>; a failure (no registry, no such image) keeps the create's error as its inner one.</summary>
    private async Task PullAsync(string image, string name, SandboxException notFound, CancellationToken cancellationToken)
    {
        var (repository, tag) = SplitReference(image);
        var path = "/images/create?fromImage=" + DockerEngineClient.Q(repository) + (tag is null ? "" : "&tag=" + DockerEngineClient.Q(tag));
        string? error = null;
        try
        {
            using var response = await Engine.SendStreamingAsync(HttpMethod.Post, path, null, null, cancellationToken).ConfigureAwait(false);
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(stream);
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }
                try
                {
                    var message = System.Text.Json.JsonSerializer.Deserialize(line, DockerJsonContext.Default.BuildMessage);
                    error ??= message?.ErrorDetail?.Message ?? message?.Error;
                }
                catch (System.Text.Json.JsonException)
                {
                }
            }
        }
        catch (SandboxException ex) when (ex.Kind is SandboxErrorKind.NotFound or SandboxErrorKind.InvalidArgument or SandboxErrorKind.Internal
                                          or SandboxErrorKind.Unauthorized)
        {
            error = ex.Message;
        }
        if (error is not null)
        {
            throw ImageMissing(image, name, error, notFound);
        }
    }

    /// <summary><c>repo[:tag]</c> or <c>repo@digest</c> → (repository, tag or digest); a port colon is not a tag.</summary>
    internal static (string Repository, string? Tag) SplitReference(string image)
    {
        var at = image.IndexOf('@');
        if (at > 0)
        {
            return (image[..at], image[(at + 1)..]);
        }
        var colon = image.LastIndexOf(':');
        return colon > image.LastIndexOf('/') && colon > 0 ? (image[..colon], image[(colon + 1)..]) : (image, "latest");
    }

    /// <summary>The image is not on the engine and was not (or could not be) pulled: say so, and how to get it.</summary>
    private SandboxException ImageMissing(string image, string name, string? pullError, Exception inner)
    {
        var why = pullError is null
            ? "and pull=never forbids pulling it"
            : $"and pulling it failed ({pullError.Trim()}); when no registry is reachable from the engine (an offline machine), nothing can be pulled and the image must be built or loaded there";
        return new SandboxException(SandboxErrorKind.NotFound, ImageNotFoundId,
            $"Image '{image}' is not on the Docker engine at {Engine.Endpoint.Display} {why}.", name, inner)
        {
            RecommendedAction = $"Build it ('docker build -t {image} DIR'), load it ('docker load -i FILE'), or use a runtime ('sandboxps runtime build NAME'); 'docker images' lists the images the engine has.",
        };
    }

    /// <summary>Whether an image runs as root when no user is given (its USER is empty, root or 0); false when it is not present.</summary>
    private async Task<bool> ImageRunsAsRootAsync(string image, CancellationToken cancellationToken)
    {
        try
        {
            var inspect = await Engine.GetJsonAsync("/images/" + image + "/json", DockerJsonContext.Default.ImageInspect,
                DockerErrorMap.NotFound(ImageNotFoundId, image), cancellationToken).ConfigureAwait(false);
            return string.IsNullOrEmpty(inspect.Config?.User) || DockerSpecRules.IsRootUser(inspect.Config.User);
        }
        catch (SandboxException ex) when (ex.Kind is SandboxErrorKind.NotFound or SandboxErrorKind.InvalidArgument)
        {
            return false;
        }
    }
}
