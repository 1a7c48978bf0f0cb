using System.Net.Http.Json;
using System.Net.Sockets;
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

    public DockerFixture() => Provider = new DockerProvider(null, new Dictionary<string, string> { [TestLabel] = RunId });

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
        await foreach (var sandbox in Provider.ListAsync(new Dictionary<string, string> { [TestLabel] = RunId }, cts.Token))
        {
            await Provider.RemoveAsync(sandbox.Id, cts.Token);
        }
        // Runtime images this class built carry the run label too.
        var images = await Provider.Engine.GetJsonAsync("/images/json?filters=" + DockerEngineClient.LabelFilters([TestLabel + "=" + RunId]),
            ImageListJson.Default.ListImageSummary, null, cts.Token);
        foreach (var image in images)
        {
            await Provider.Engine.SendAsync(HttpMethod.Delete, $"/images/{image.Id}?force=1", null, null, cts.Token, System.Net.HttpStatusCode.NotFound);
        }
        Provider.Dispose();
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

    /// <summary>HTTP client for a sandbox endpoint (<c>http://127.0.0.1:P</c> or <c>unix:/path</c>).</summary>
    public static HttpClient ClientFor(string endpoint, string? token)
    {
        HttpClient http;
        if (endpoint.StartsWith("unix:", StringComparison.Ordinal))
        {
            var path = endpoint["unix:".Length..];
            var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
                        return new NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                },
            };
            http = new HttpClient(handler) { BaseAddress = new Uri("http://localhost/") };
        }
        else
        {
            http = new HttpClient { BaseAddress = new Uri(endpoint.TrimEnd('/') + "/") };
        }
        http.Timeout = TimeSpan.FromMinutes(2);
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }
        return http;
    }

    /// <summary>
    /// Polls /health until it answers, checking the provider's status every round so a dead
    /// container fails at once with its exit code and logs.
    /// </summary>
    public static async Task WaitReadyAsync(DockerProvider provider, Sandbox sandbox, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var status = await provider.GetStatusAsync(sandbox.Id, ct);
            if (status.State is SandboxState.Failed or SandboxState.Stopped or SandboxState.Gone)
            {
                throw new SandboxNotRunningException(sandbox.Name, $"sandbox {sandbox.Name} is {status.State}: {status.Reason}",
                    status.ExitCode, status.LastLogLines ?? []);
            }
            if (sandbox.Endpoint is { } endpoint)
            {
                using var http = ClientFor(endpoint, null);
                http.Timeout = TimeSpan.FromSeconds(5);
                try
                {
                    using var response = await http.GetAsync("health", ct);
                    if (response.IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                }
                catch (TaskCanceledException) when (!ct.IsCancellationRequested)
                {
                }
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"sandbox {sandbox.Name} not ready after 60 s (state {status.State})");
            }
            await Task.Delay(25, ct);
        }
    }

    public static async Task<ExecResult> ExecAsync(HttpClient http, CancellationToken ct, params string[] argv)
    {
        using var response = await http.PostAsJsonAsync("v1/exec", new ExecRequest { Argv = argv }, ProtocolJsonContext.Default.ExecRequest, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.IsSuccessStatusCode, $"exec {string.Join(' ', argv)}: {(int)response.StatusCode} {body}");
        return System.Text.Json.JsonSerializer.Deserialize(body, ProtocolJsonContext.Default.ExecResult)!;
    }

    public static Task<ExecResult> ShellAsync(HttpClient http, string line, CancellationToken ct) => ExecAsync(http, ct, "/bin/sh", "-c", line);
}
