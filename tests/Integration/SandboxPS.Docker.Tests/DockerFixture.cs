using SandboxPS.Core;
using SandboxPS.Core.Providers.Docker;
using SandboxPS.Protocol;

namespace SandboxPS.Docker.Tests;

/// <summary>
/// One provider per test class, and a run id every container of the class is labelled with
/// (<c>org.sandboxps.test</c>); disposing removes exactly those containers, even after failures.
/// </summary>
public sealed class DockerFixture : IAsyncLifetime
{
    public const string TestLabel = "org.sandboxps.test";
    public const string Busybox = "sandboxps/busybox:1.35";
    public const string Debian = "sandboxps/debian:bookworm-minbase";
    public const string Python = "sandboxps/python:3.11-bookworm";

    public string RunId { get; } = "docker-tests-" + Guid.NewGuid().ToString("N")[..12];

    public DockerFixture()
    {
        Provider = new DockerProvider(null, new Dictionary<string, string> { [TestLabel] = RunId });
        Manager = new SandboxManager([Provider]);
    }

    /// <summary>A manager over <see cref="Provider"/> only: readiness, clients, reaping of this run.</summary>
    public SandboxManager Manager { get; }

    public Task<Sandbox> ReadyAsync(Sandbox sandbox, CancellationToken ct) => Manager.WaitReadyAsync(sandbox, TimeSpan.FromSeconds(60), ct);

    /// <summary>Scoped to this run: it creates, lists and reaps only containers labelled with <see cref="RunId"/>.</summary>
    public DockerProvider Provider { get; }

    public SandboxSpec Spec(string image, Action<SandboxSpec>? configure = null)
    {
        var spec = new SandboxSpec { Image = image, TimeToLive = TimeSpan.FromMinutes(10) };
        spec.Labels[TestLabel] = RunId;
        configure?.Invoke(spec);
        return spec;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        // Best effort, every item tried: one engine refusal (an image another image still builds on, a
        // container the engine is still removing) must not stop the rest of the clean-up; a second pass
        // takes what the first could not, and only what is still there after it fails the class.
        var left = new List<string>();
        for (int pass = 0; pass < 2; pass++)
        {
            left.Clear();
            await foreach (var sandbox in Provider.ListAsync(new Dictionary<string, string> { [TestLabel] = RunId }, cts.Token))
            {
                try
                {
                    await Provider.RemoveAsync(sandbox.Id, cts.Token);
                }
                catch (SandboxException ex)
                {
                    left.Add($"sandbox {sandbox.Name}: {ex.Message}");
                }
            }
            // Runtime images this class built carry the run label too (newest first: children before parents).
            var images = await Provider.Engine.GetJsonAsync("/images/json?filters=" + DockerEngineClient.LabelFilters([TestLabel + "=" + RunId]),
                ImageListJson.Default.ListImageSummary, null, cts.Token);
            foreach (var image in images)
            {
                try
                {
                    await Provider.Engine.SendAsync(HttpMethod.Delete, $"/images/{image.Id}?force=1", null, null, cts.Token, System.Net.HttpStatusCode.NotFound);
                }
                catch (SandboxException ex)
                {
                    left.Add($"image {image.Id}: {ex.Message}");
                }
            }
            if (left.Count == 0)
            {
                break;
            }
            await Task.Delay(1000, cts.Token);
        }
        Provider.Dispose();
        Assert.True(left.Count == 0, "clean-up left: " + string.Join("; ", left));
    }
}

public sealed record ImageSummary(string Id);

[System.Text.Json.Serialization.JsonSerializable(typeof(List<ImageSummary>))]
internal sealed partial class ImageListJson : System.Text.Json.Serialization.JsonSerializerContext;

/// <summary>Bounded helpers shared by the tests.</summary>
internal static class TestHelpers
{
    /// <summary>Guard of every test: nothing waits longer than this.</summary>
    public static CancellationTokenSource Guard() => new(TimeSpan.FromMinutes(5));

    public static Task<ExecResult> ExecAsync(SandboxClient client, CancellationToken ct, params string[] argv) =>
        client.ExecAsync(new ExecRequest { Argv = argv }, ct);

    public static Task<ExecResult> ShellAsync(SandboxClient client, string line, CancellationToken ct) => ExecAsync(client, ct, "/bin/sh", "-c", line);
}
