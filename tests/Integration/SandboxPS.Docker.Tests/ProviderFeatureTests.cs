using System.Security.Cryptography;
using SandboxPS.Core;
using SandboxPS.Core.Providers.Docker;
using SandboxPS.Protocol;

namespace SandboxPS.Docker.Tests;

/// <summary>Spec fields mapped to the engine, checked from inside the sandbox.</summary>
public sealed class ProviderFeatureTests(DockerFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<DockerFixture>
{
    private DockerProvider Provider => fixture.Provider;

    private async Task WithSandboxAsync(SandboxSpec spec, Func<Sandbox, SandboxClient, CancellationToken, Task> body)
    {
        using var cts = TestHelpers.Guard();
        var sandbox = await Provider.CreateAsync(spec, cts.Token);
        try
        {
            await fixture.ReadyAsync(sandbox, cts.Token);
            var http = fixture.Manager.GetClient(sandbox);
            await body(sandbox, http, cts.Token);
        }
        finally
        {
            await fixture.Manager.RemoveAsync(sandbox, CancellationToken.None);
        }
    }

    [Fact(Timeout = 300_000)]
    public Task PythonSession_OnPythonImage_KeepsStateBetweenRuns() =>
        WithSandboxAsync(fixture.Spec(DockerFixture.Python), async (_, http, ct) =>
        {
            var session = await http.CreateSessionAsync(new CreateSessionRequest { Kind = SessionKinds.Python }, ct);
            Task<RunResult> Run(string code) => http.RunAsync(session.Id, new RunRequest { Command = code }, ct);

            await Run("import sys\nanswer = 6 * 7");
            var result = await Run("print(sys.version_info[0]); answer");
            Assert.Equal(0, result.ExitCode);
            Assert.Contains("3", result.Output);
            Assert.Contains("42", result.Output);
        });

    [Fact(Timeout = 300_000)]
    public Task Files_50MegabytesInAndOut_KeepTheirChecksum() =>
        WithSandboxAsync(fixture.Spec(DockerFixture.Busybox), async (_, http, ct) =>
        {
            var data = new byte[50 * 1024 * 1024];
            new Random(4242).NextBytes(data);
            var expected = Convert.ToHexString(SHA256.HashData(data)).ToLowerInvariant();

            var written = await http.WriteFileAsync("/tmp/big.bin", new MemoryStream(data), cancellationToken: ct);
            Assert.Equal(data.Length, written.Bytes);
            var inside = await TestHelpers.ShellAsync(http, "sha256sum /tmp/big.bin | cut -d' ' -f1", ct);
            Assert.Equal(expected, inside.Stdout.Trim());

            await using var stream = await http.OpenReadAsync("/tmp/big.bin", ct);
            var actual = Convert.ToHexString(await SHA256.HashDataAsync(stream, ct)).ToLowerInvariant();
            Assert.Equal(expected, actual);
        });

    [Fact(Timeout = 300_000)]
    public Task MemoryLimit_HogIsKilledAndReported() =>
        WithSandboxAsync(fixture.Spec(DockerFixture.Python, s => s.MemoryBytes = 96L * 1024 * 1024), async (sandbox, http, ct) =>
        {
            var limit = await TestHelpers.ShellAsync(http,
                "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max", ct);
            Assert.Equal((96L * 1024 * 1024).ToString(), limit.Stdout.Trim());

            var hog = await TestHelpers.ExecAsync(http, ct, "python3", "-c", "x = bytearray(512 * 1024 * 1024); print('survived')");
            var status = await Provider.GetStatusAsync(sandbox.Id, ct);
            // Killed by the kernel's OOM killer: SIGKILL (137 / -9) for the hog, or the whole container OOMKilled.
            Assert.True(hog.ExitCode is 137 or -9 || status.Reason == "OOMKilled", $"exit {hog.ExitCode}, {hog.Stdout}{hog.Stderr}, status {status}");
            Assert.DoesNotContain("survived", hog.Stdout);
        });

    [Fact(Timeout = 300_000)]
    public async Task NetworkNone_NonRoot_ServedThroughAUnixSocketThatIsRemovedWithTheSandbox()
    {
        string? socketDirectory = null;
        await WithSandboxAsync(fixture.Spec(DockerFixture.Busybox, s => { s.NetworkMode = "none"; s.User = "65534:65534"; }), async (sandbox, http, ct) =>
        {
            Assert.StartsWith("unix:/", sandbox.Endpoint);
            socketDirectory = Path.GetDirectoryName(sandbox.Endpoint!["unix:".Length..]);
            var result = await TestHelpers.ShellAsync(http, "ls /sys/class/net; id -u; pwd; echo ok > note.txt && cat note.txt", ct);
            Assert.Equal(0, result.ExitCode);
            Assert.Equal("lo\n65534\n/tmp\nok\n", result.Stdout);
        });
        Assert.NotNull(socketDirectory);
        Assert.False(Directory.Exists(socketDirectory), $"{socketDirectory} should be gone");
    }

    private async Task<ContainerInspect> InspectAsync(Sandbox sandbox, CancellationToken ct) =>
        await Provider.Engine.GetJsonAsync("/containers/" + DockerEngineClient.Q(sandbox.Name) + "/json",
            DockerJsonContext.Default.ContainerInspect, null, ct);

    [Fact(Timeout = 300_000)]
    public Task LocalEngine_Default_BindMountsTheServerReadOnly_NonRootRunsIt() =>
        WithSandboxAsync(fixture.Spec(DockerFixture.Busybox, s => s.User = "65534:65534"), async (sandbox, http, ct) =>
        {
            var inspect = await InspectAsync(sandbox, ct);
            Assert.True(inspect.HostConfig?.Binds is null or { Count: 0 }, "Mounts, not Binds");
            var server = Assert.Single(inspect.HostConfig?.Mounts ?? []);
            Assert.Equal(("bind", ServerBinary.Locate(), DockerProvider.ContainerServerPath, true), (server.Type, server.Source, server.Target, server.ReadOnly));
            var result = await TestHelpers.ShellAsync(http, "id -u; ls -l /.sandboxps/sandboxps-server | cut -c1-10; echo x >> /.sandboxps/sandboxps-server || echo refused", ct);
            Assert.Equal(0, result.ExitCode);
            Assert.Equal("65534\n-rwxr-xr-x\nrefused\n", result.Stdout);
        });

    [Fact(Timeout = 300_000)]
    public Task ServerMountCopy_ReadOnlyRoot_CopiesTheServerThroughTheArchiveApi() =>
        WithSandboxAsync(fixture.Spec(DockerFixture.Busybox, s =>
        {
            s.ProviderOptions["serverMount"] = "copy";
            s.ReadOnlyRootFilesystem = true;
        }), async (sandbox, http, ct) =>
        {
            var inspect = await InspectAsync(sandbox, ct);
            Assert.DoesNotContain(inspect.HostConfig?.Binds ?? [], b => b.Contains(DockerProvider.ContainerServerPath, StringComparison.Ordinal));
            var volume = Assert.Single(inspect.HostConfig?.Mounts ?? []);
            Assert.Equal("volume", volume.Type);
            Assert.Equal(DockerProvider.ContainerDirectory, volume.Target);
            // The anonymous volume is labelled like its container, so a leftover could be found.
            Assert.Equal(sandbox.Id, volume.VolumeOptions?.Labels?[SandboxLabels.Id]);
            Assert.Equal(fixture.RunId, volume.VolumeOptions?.Labels?[DockerFixture.TestLabel]);
            var result = await TestHelpers.ShellAsync(http, "test -x /.sandboxps/sandboxps-server && echo copied", ct);
            Assert.Equal(0, result.ExitCode);
            Assert.Equal("copied\n", result.Stdout);
        });

    [Fact(Timeout = 300_000)]
    public Task NonRoot_OnDebian_RunsAsNobody() =>
        WithSandboxAsync(fixture.Spec(DockerFixture.Debian, s => s.User = "nobody"), async (_, http, ct) =>
        {
            var result = await TestHelpers.ShellAsync(http, "id -un; touch /etc/nope 2>&1; echo written > /tmp/f && cat /tmp/f", ct);
            Assert.StartsWith("nobody\n", result.Stdout);
            Assert.Contains("written", result.Stdout);
        });

    [Fact(Timeout = 300_000)]
    public Task ReadOnlyRoot_OnlyTmpIsWritable() =>
        WithSandboxAsync(fixture.Spec(DockerFixture.Debian, s =>
        {
            s.ReadOnlyRootFilesystem = true;
            s.PidsLimit = 64;
            s.Cpus = 0.5;
        }), async (_, http, ct) =>
        {
            var root = await TestHelpers.ShellAsync(http, "touch /etc/x", ct);
            Assert.NotEqual(0, root.ExitCode);
            Assert.Contains("Read-only file system", root.Stderr);
            var tmp = await TestHelpers.ShellAsync(http, "echo fine > /tmp/x && cat /tmp/x && pwd && cat /sys/fs/cgroup/pids/pids.max && cat /proc/self/status | grep NoNewPrivs", ct);
            Assert.Equal(0, tmp.ExitCode);
            Assert.Matches(@"^fine\n/tmp\n64\nNoNewPrivs:\s+1\n$", tmp.Stdout);
        });

    [Fact(Timeout = 300_000)]
    public async Task AttachFromAnotherProvider_FindsByNameRecoversTokenAndRuns()
    {
        using var cts = TestHelpers.Guard();
        var sandbox = await Provider.CreateAsync(fixture.Spec(DockerFixture.Busybox), cts.Token);
        try
        {
            await fixture.ReadyAsync(sandbox, cts.Token);
            using var other = new DockerProvider(); // nothing cached: as another process would be
            var found = await other.GetAsync(sandbox.Name, cts.Token);
            Assert.NotNull(found);
            Assert.Equal(sandbox.Id, found!.Id);
            var token = await other.GetTokenAsync(found.Id, cts.Token);
            using var http = new SandboxClient(found.Endpoint!, token);
            var result = await TestHelpers.ShellAsync(http, "echo attached", cts.Token);
            Assert.Equal("attached\n", result.Stdout);
        }
        finally
        {
            await Provider.RemoveAsync(sandbox.Id, CancellationToken.None);
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task FanOut_TwentyAtOnce_AllReadyOnDistinctPorts()
    {
        using var cts = TestHelpers.Guard();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var creates = Enumerable.Range(0, 20).Select(_ => Provider.CreateAsync(fixture.Spec(DockerFixture.Busybox), cts.Token)).ToList();
        try
        {
            var sandboxes = await Task.WhenAll(creates);
            Assert.Equal(20, sandboxes.Select(s => s.Endpoint).Distinct().Count());
            await Task.WhenAll(sandboxes.Select(async s =>
            {
                await fixture.ReadyAsync(s, cts.Token);
                var http = fixture.Manager.GetClient(s);
                var result = await TestHelpers.ShellAsync(http, "echo ready-$((20 + 22))", cts.Token);
                Assert.Equal("ready-42\n", result.Stdout);
                Assert.Equal(0, result.ExitCode);
            }));
            output.WriteLine($"20 sandboxes created, ready and exec'd in parallel: {clock.Elapsed.TotalMilliseconds:0} ms");
        }
        finally
        {
            foreach (var create in creates.Where(c => c.IsCompletedSuccessfully))
            {
                await Provider.RemoveAsync((await create).Id, CancellationToken.None);
            }
        }
    }
}
