using System.Diagnostics;
using System.Net;
using SandboxPS.Core;
using SandboxPS.Core.Providers.Docker;
using Xunit.Abstractions;

namespace SandboxPS.Docker.Tests;

/// <summary>
/// Create→Ready of a busybox sandbox against a bare create+start of the same image through the same
/// engine client (median of 10 each). Prints the numbers; asserts only that everything worked.
/// </summary>
public sealed class MeasurementTests(DockerFixture fixture, ITestOutputHelper output) : IClassFixture<DockerFixture>
{
    private const int Rounds = 10;

    [Fact(Timeout = 300_000)]
    public async Task CreateToReady_Busybox_MedianAgainstBareCreateStart()
    {
        using var cts = TestHelpers.Guard();
        var engine = fixture.Provider.Engine;
        var bare = new List<double>();
        var sandboxed = new List<double>();
        for (var i = 0; i < Rounds; i++)
        {
            var clock = Stopwatch.StartNew();
            var created = await engine.PostJsonAsync("/containers/create", new ContainerCreateRequest
            {
                Image = DockerFixture.Busybox,
                Cmd = ["sleep", "60"],
                Labels = new Dictionary<string, string> { [DockerFixture.TestLabel] = fixture.RunId },
                HostConfig = new ContainerHostConfig(),
            }, DockerJsonContext.Default.ContainerCreateRequest, DockerJsonContext.Default.ContainerCreateResponse, null, cts.Token);
            try
            {
                await engine.SendAsync(HttpMethod.Post, $"/containers/{created.Id}/start", null, null, cts.Token);
                bare.Add(clock.Elapsed.TotalMilliseconds);
            }
            finally
            {
                await engine.SendAsync(HttpMethod.Delete, $"/containers/{created.Id}?force=1", null, null, CancellationToken.None, HttpStatusCode.NotFound);
            }

            clock.Restart();
            var sandbox = await fixture.Provider.CreateAsync(fixture.Spec(DockerFixture.Busybox), cts.Token);
            try
            {
                await fixture.ReadyAsync(sandbox, cts.Token);
                sandboxed.Add(clock.Elapsed.TotalMilliseconds);
                Assert.Equal(SandboxState.Ready, sandbox.State);
            }
            finally
            {
                await fixture.Manager.RemoveAsync(sandbox, CancellationToken.None);
            }
        }
        static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
        output.WriteLine($"bare create+start (busybox, sleep): median {Median(bare):0} ms, min {bare.Min():0} ms, max {bare.Max():0} ms");
        output.WriteLine($"sandboxps create->Ready (busybox):  median {Median(sandboxed):0} ms, min {sandboxed.Min():0} ms, max {sandboxed.Max():0} ms");
        output.WriteLine($"ratio: {Median(sandboxed) / Median(bare):0.00}");
        Assert.Equal(Rounds, sandboxed.Count);
    }
}
