using System.Text.Json.Serialization;
using SandboxPS.Core;
using SandboxPS.Core.Providers.Docker;

namespace SandboxPS.Docker.Tests;

/// <summary>
/// Mounts with awkward host paths, the init that reaps orphans, and creates that fail or are
/// cancelled half-way: none may leave a container or a volume behind.
/// </summary>
public sealed class ProviderHardeningTests(DockerFixture fixture) : IClassFixture<DockerFixture>
{
    private DockerProvider Provider => fixture.Provider;

    private async Task WithSandboxAsync(DockerProvider provider, SandboxSpec spec, Func<Sandbox, SandboxClient, CancellationToken, Task> body)
    {
        using var cts = TestHelpers.Guard();
        var sandbox = await provider.CreateAsync(spec, cts.Token);
        try
        {
            await fixture.ReadyAsync(sandbox, cts.Token);
            using var http = new SandboxClient(sandbox.Endpoint!, sandbox.Token!);
            await body(sandbox, http, cts.Token);
        }
        finally
        {
            await provider.RemoveAsync(sandbox.Id, CancellationToken.None);
        }
    }

    [Theory(Timeout = 300_000)]
    [InlineData("bridge")]
    [InlineData("none")]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task ServerAndSocketUnderPathsWithColonAndComma_AreMountedAndServe(string network)
    {
        // Binds strings split on ':' (and mount options on ','); Mounts take the path as it is.
        var root = Directory.CreateTempSubdirectory("sbx-mounts-");
        try
        {
            var serverDirectory = Directory.CreateDirectory(Path.Combine(root.FullName, "server:v1,copy"));
            var server = Path.Combine(serverDirectory.FullName, ServerBinary.FileName);
            File.Copy(ServerBinary.Locate(), server);
            File.SetUnixFileMode(server, (UnixFileMode)0b111_101_101);
            var runRoot = Path.Combine(root.FullName, "run:dir,x");
            using var provider = new DockerProvider(null, new Dictionary<string, string> { [DockerFixture.TestLabel] = fixture.RunId })
            {
                ServerBinaryPath = server,
                RunDirectoryRoot = runRoot,
            };

            await WithSandboxAsync(provider, fixture.Spec(DockerFixture.Busybox, s => s.NetworkMode = network), async (sandbox, http, ct) =>
            {
                var inspect = await provider.Engine.GetJsonAsync("/containers/" + DockerEngineClient.Q(sandbox.Name) + "/json",
                    DockerJsonContext.Default.ContainerInspect, null, ct);
                var mounts = inspect.HostConfig?.Mounts ?? [];
                Assert.Contains(mounts, m => m is { Type: "bind", ReadOnly: true } && m.Source == server && m.Target == DockerProvider.ContainerServerPath);
                if (network == "none")
                {
                    Assert.Equal("unix:" + Path.Combine(runRoot, sandbox.Id, "server.sock"), sandbox.Endpoint);
                    Assert.Contains(mounts, m => m.Type == "bind" && m.Source == Path.Combine(runRoot, sandbox.Id) && m.Target == DockerProvider.ContainerRunDirectory);
                }
                var result = await TestHelpers.ShellAsync(http, "echo served; ls /.sandboxps", ct);
                Assert.Equal(0, result.ExitCode);
                Assert.StartsWith("served\n", result.Stdout);
            });
            if (network == "none")
            {
                Assert.Empty(Directory.GetFileSystemEntries(runRoot)); // the socket directory went with the sandbox
            }
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Theory(Timeout = 300_000)]
    [InlineData(null, "docker-init")]      // the default (auto): the engine has docker-init here
    [InlineData("true", "docker-init")]
    [InlineData("false", "sandboxps-serve")] // the server's own PID-1 mode (comm keeps 15 characters)
    public Task Init_DoubleForkedOrphan_IsReapedAndLeavesNoZombie(string? init, string pid1) =>
        WithSandboxAsync(Provider, fixture.Spec(DockerFixture.Busybox, s =>
        {
            if (init is not null)
            {
                s.ProviderOptions["init"] = init;
            }
        }), async (sandbox, http, ct) =>
        {
            Assert.Equal(pid1 + "\n", (await TestHelpers.ShellAsync(http, "cat /proc/1/comm", ct)).Stdout);

            // Double fork: the subshell starts sleep in the background and exits, so sleep's parent is gone.
            var started = await TestHelpers.ShellAsync(http, "(sleep 2 >/dev/null 2>&1 & echo $! > /tmp/orphan.pid); cat /tmp/orphan.pid", ct);
            var pid = started.Stdout.Trim();
            Assert.Matches(@"^\d+$", pid);
            var parent = await TestHelpers.ShellAsync(http, $"cut -d' ' -f4 /proc/{pid}/stat", ct);
            Assert.Equal("1\n", parent.Stdout); // adopted by PID 1

            // Once sleep ends, PID 1 must reap it: the process disappears instead of staying a zombie.
            // (Bounded: 30 s for a 2 s sleep, about hangs only.)
            var reaped = await TestHelpers.ShellAsync(http,
                $"i=0; while [ -e /proc/{pid} ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; " +
                $"if [ -e /proc/{pid} ]; then echo \"left: $(cat /proc/{pid}/stat)\"; else echo reaped; fi; " +
                "ps -o pid,stat,comm | awk '$2 ~ /^Z/ { print \"zombie:\", $0 }'", ct);
            Assert.Equal("reaped\n", reaped.Stdout);
        });

    [Fact(Timeout = 300_000)]
    public async Task Create_CancelledAtAnyPoint_LeavesNoContainerVolumeOrSocketDirectory()
    {
        using var guard = TestHelpers.Guard();
        var tag = Guid.NewGuid().ToString("N")[..12];
        var runRoot = Directory.CreateTempSubdirectory("sbx-cancel-");
        using var provider = new DockerProvider(null, new Dictionary<string, string> { [DockerFixture.TestLabel] = fixture.RunId })
        {
            RunDirectoryRoot = runRoot.FullName,
        };
        var cancelled = 0;
        var created = 0;
        try
        {
            // Cancellation lands before, during and after the engine's create, archive copy and start.
            int[] delays = [0, 2, 5, 10, 20, 35, 50, 75, 100, 150, 200, 300, 450, 700, 1000];
            for (var i = 0; i < delays.Length; i++)
            {
                var spec = fixture.Spec(DockerFixture.Busybox, s =>
                {
                    s.Labels["org.sandboxps.cancel"] = tag + "-" + i;
                    switch (i % 3)
                    {
                        case 1: // server copied into an anonymous volume
                            s.ProviderOptions["serverMount"] = "copy";
                            s.ReadOnlyRootFilesystem = true;
                            break;
                        case 2: // socket directory on the host
                            s.NetworkMode = "none";
                            break;
                    }
                });
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(guard.Token);
                cts.CancelAfter(delays[i]);
                try
                {
                    var sandbox = await provider.CreateAsync(spec, cts.Token);
                    created++;
                    await provider.RemoveAsync(sandbox.Id, guard.Token);
                }
                catch (OperationCanceledException) when (!guard.IsCancellationRequested)
                {
                    cancelled++;
                }
                Assert.Empty(await ContainersAsync("org.sandboxps.cancel=" + tag + "-" + i, guard.Token));
                Assert.Empty(await VolumesAsync("org.sandboxps.cancel=" + tag + "-" + i, guard.Token));
                Assert.Empty(Directory.GetFileSystemEntries(runRoot.FullName));
            }
            Assert.True(cancelled > 0, "no create was cancelled");
        }
        finally
        {
            runRoot.Delete(recursive: true);
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task Create_StartFailsWithServerInAVolume_RemovesContainerAndVolume()
    {
        using var cts = TestHelpers.Guard();
        var tag = Guid.NewGuid().ToString("N")[..12];
        var ex = await Assert.ThrowsAsync<SandboxException>(() => Provider.CreateAsync(fixture.Spec(DockerFixture.Debian, s =>
        {
            s.Labels["org.sandboxps.startfail"] = tag;
            s.User = "no-such-user";
            s.ProviderOptions["serverMount"] = "copy";
            s.ReadOnlyRootFilesystem = true;
        }), cts.Token));
        Assert.Contains("no-such-user", ex.Message);
        Assert.Empty(await ContainersAsync("org.sandboxps.startfail=" + tag, cts.Token));
        Assert.Empty(await VolumesAsync("org.sandboxps.startfail=" + tag, cts.Token));
    }

    [Fact(Timeout = 300_000)]
    public async Task CreatorKilledBeforeStart_ContainerThatNeverStartedIsFailedAndReaped()
    {
        using var cts = TestHelpers.Guard();
        // What a creator killed with -9 between 'create' and 'start' leaves: a container that is only
        // created (its TTL never runs: the server never started), here made an hour ago.
        var id = SandboxLabelBuilder.NewId();
        var name = "sbx-neverstarted-" + id;
        var createdAt = DateTimeOffset.UtcNow - TimeSpan.FromHours(1);
        var labels = SandboxLabelBuilder.Build(id, name, createdAt, createdAt + TimeSpan.FromHours(4),
            new Dictionary<string, string> { [DockerFixture.TestLabel] = fixture.RunId });
        await Provider.Engine.PostJsonAsync("/containers/create?name=" + name,
            new ContainerCreateRequest { Image = DockerFixture.Busybox, Cmd = ["true"], Labels = labels, HostConfig = new ContainerHostConfig() },
            DockerJsonContext.Default.ContainerCreateRequest, DockerJsonContext.Default.ContainerCreateResponse, null, cts.Token);

        var status = await Provider.GetStatusAsync(id, cts.Token);
        Assert.Equal(SandboxState.Failed, status.State);
        Assert.StartsWith("Never started", status.Reason);
        Assert.Equal(SandboxState.Failed, (await Provider.GetAsync(name, cts.Token))?.State);

        var reaped = await fixture.Manager.RemoveExpiredAsync(cts.Token);
        Assert.Contains(reaped, s => s.Id == id);
        Assert.Empty(await ContainersAsync(SandboxLabels.Id + "=" + id, cts.Token));
    }

    [Fact(Timeout = 300_000)]
    public async Task RuntimeBuild_CancelledWhileARunStepRuns_LeavesNoBuildContainer()
    {
        using var cts = TestHelpers.Guard();
        var tag = fixture.RunId[^8..] + Guid.NewGuid().ToString("N")[..6];
        var options = new Core.Runtimes.RuntimeBuildOptions { Labels = { [DockerFixture.TestLabel] = fixture.RunId } };
        // A base image of this test's own, so the build containers made from it are surely ours.
        var baseImage = await Provider.Runtimes.EnsureAsync(new Core.Runtimes.RuntimeConfig
        {
            Name = "t-cbase-" + tag,
            BaseImage = DockerFixture.Busybox,
            SetupCommands = ["echo " + tag + " > /base"],
        }, options, cts.Token);
        var baseId = (await Provider.Engine.GetJsonAsync("/images/" + baseImage.Tag + "/json", DockerJsonContext.Default.ImageInspect, null, cts.Token)).Id;

        using var build = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        var slow = new Core.Runtimes.RuntimeBuildOptions
        {
            Labels = { [DockerFixture.TestLabel] = fixture.RunId },
            Progress = new CancelWhen(m => m.Contains("Running in", StringComparison.Ordinal), build),
        };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Provider.Runtimes.EnsureAsync(new Core.Runtimes.RuntimeConfig
        {
            Name = "t-cslow-" + tag,
            BaseImage = baseImage.Tag,
            SetupCommands = ["sleep 120"],
        }, slow, build.Token));

        // The engine removes the build container once it sees the client go (forcerm); bounded wait.
        var filter = DockerEngineClient.Q("{\"ancestor\":[\"" + baseId + "\"]}");
        List<ContainerSummary> left;
        for (var i = 0; (left = await Provider.Engine.GetJsonAsync("/containers/json?all=1&filters=" + filter,
                 DockerJsonContext.Default.ListContainerSummary, null, cts.Token)).Count > 0 && i < 300; i++)
        {
            await Task.Delay(100, cts.Token);
        }
        Assert.Empty(left);
    }

    private sealed class CancelWhen(Func<string, bool> condition, CancellationTokenSource cts) : IProgress<Core.Runtimes.RuntimeBuildProgress>
    {
        public void Report(Core.Runtimes.RuntimeBuildProgress value)
        {
            if (condition(value.Message))
            {
                cts.Cancel();
            }
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task NetworkNone_RootHost_SocketIsTheContainerUsersAnd0600()
    {
        // This machine runs the tests as root: a root host user connects to any socket, so the
        // server keeps its default 0600; the directory lets the non-root container user in (0733).
        await WithSandboxAsync(Provider, fixture.Spec(DockerFixture.Busybox, s => { s.NetworkMode = "none"; s.User = "65534:65534"; }), async (sandbox, http, ct) =>
        {
            var socket = sandbox.Endpoint!["unix:".Length..];
            var stat = await HostStatAsync(ct, socket, Path.GetDirectoryName(socket)!);
            Assert.Equal(["65534 600", "0 733"], stat);
            Assert.Equal("ok\n", (await TestHelpers.ShellAsync(http, "echo ok", ct)).Stdout);
        });
    }

    internal static async Task<string[]> HostStatAsync(CancellationToken ct, params string[] paths)
    {
        var info = new System.Diagnostics.ProcessStartInfo("stat") { RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("%u %a");
        foreach (var path in paths)
        {
            info.ArgumentList.Add(path);
        }
        using var process = System.Diagnostics.Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    internal static async Task<string> HostStatGroupAsync(string path, CancellationToken ct)
    {
        var info = new System.Diagnostics.ProcessStartInfo("stat") { RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("%g");
        info.ArgumentList.Add(path);
        using var process = System.Diagnostics.Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return output;
    }

    private async Task<List<ContainerSummary>> ContainersAsync(string label, CancellationToken ct) =>
        await Provider.Engine.GetJsonAsync("/containers/json?all=1&filters=" + DockerEngineClient.LabelFilters([label]),
            DockerJsonContext.Default.ListContainerSummary, null, ct);

    private async Task<List<VolumeSummary>> VolumesAsync(string label, CancellationToken ct) =>
        (await Provider.Engine.GetJsonAsync("/volumes?filters=" + DockerEngineClient.LabelFilters([label]),
            VolumeJson.Default.VolumeList, null, ct)).Volumes ?? [];
}

public sealed record VolumeSummary(string Name);

public sealed record VolumeList(List<VolumeSummary>? Volumes);

[JsonSerializable(typeof(VolumeList))]
internal sealed partial class VolumeJson : JsonSerializerContext;
