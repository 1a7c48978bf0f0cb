using System.Text.RegularExpressions;
using SandboxPS.Core;
using SandboxPS.Core.Providers.Docker;

namespace SandboxPS.Docker.Tests;

public sealed class ProviderLifecycleTests(DockerFixture fixture) : IClassFixture<DockerFixture>
{
    private DockerProvider Provider => fixture.Provider;

    [Fact(Timeout = 300_000)]
    public async Task Create_Busybox_PublishesOnLoopbackLabelsAndExecs()
    {
        using var cts = TestHelpers.Guard();
        var sandbox = await Provider.CreateAsync(fixture.Spec(DockerFixture.Busybox, s => s.Labels["team"] = "docker"), cts.Token);
        try
        {
            Assert.Equal("docker", sandbox.Provider);
            Assert.Matches(new Regex(@"^http://127\.0\.0\.1:\d+$"), sandbox.Endpoint);
            Assert.Equal("true", sandbox.Labels[SandboxLabels.Managed]);
            Assert.Equal(sandbox.Id, sandbox.Labels[SandboxLabels.Id]);
            Assert.Equal(sandbox.Name, sandbox.Labels[SandboxLabels.Name]);
            Assert.Equal("docker", sandbox.Labels["team"]);
            Assert.Contains($"/{Environment.ProcessId}", sandbox.Labels[SandboxLabels.Owner]);
            Assert.NotNull(sandbox.ExpiresAt);
            Assert.NotNull(sandbox.Token);

            await fixture.ReadyAsync(sandbox, cts.Token);
            var http = fixture.Manager.GetClient(sandbox);
            var result = await TestHelpers.ShellAsync(http, "echo hello from $(cat /proc/1/comm); exit 3", cts.Token);
            Assert.Equal(3, result.ExitCode);
            Assert.Equal("hello from docker-init\n", result.Stdout); // the engine's init (tini) is PID 1 by default

            // A second handle from a list call sees the same sandbox and endpoint.
            var listed = new List<Sandbox>();
            await foreach (var s in Provider.ListAsync(new Dictionary<string, string> { ["team"] = "docker", [DockerFixture.TestLabel] = fixture.RunId }, cts.Token))
            {
                listed.Add(s);
            }
            var same = Assert.Single(listed);
            Assert.Equal(sandbox.Id, same.Id);
            Assert.Equal(sandbox.Endpoint, same.Endpoint);
            Assert.Equal(SandboxState.Running, same.State);
            Assert.Null(same.Token);
            Assert.Equal(sandbox.Token, await Provider.GetTokenAsync(sandbox.Id, cts.Token));
            Assert.Equal(sandbox.Id, (await Provider.GetAsync(sandbox.Name, cts.Token))?.Id);
        }
        finally
        {
            await Provider.RemoveAsync(sandbox.Id, cts.Token);
        }
        Assert.Equal(SandboxState.Gone, (await Provider.GetStatusAsync(sandbox.Id, cts.Token)).State);
        await Provider.RemoveAsync(sandbox.Id, cts.Token); // idempotent
        Assert.Null(await Provider.GetAsync(sandbox.Id, cts.Token));
    }

    [Fact(Timeout = 300_000)]
    public async Task Create_Debian_RunsBashAndReportsOs()
    {
        using var cts = TestHelpers.Guard();
        var sandbox = await Provider.CreateAsync(fixture.Spec(DockerFixture.Debian, s =>
        {
            s.Environment["GREETING"] = "hi there";
            s.WorkingDirectory = "/srv/work";
        }), cts.Token);
        try
        {
            await fixture.ReadyAsync(sandbox, cts.Token);
            var http = fixture.Manager.GetClient(sandbox);
            var result = await TestHelpers.ExecAsync(http, cts.Token, "/bin/bash", "-c", ". /etc/os-release; echo \"$ID $GREETING $PWD\"");
            Assert.Equal(0, result.ExitCode);
            Assert.Equal("debian hi there /srv/work\n", result.Stdout);
        }
        finally
        {
            await Provider.RemoveAsync(sandbox.Id, cts.Token);
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task Create_TakenName_ThrowsSandboxNameInUseAndLeavesTheFirst()
    {
        using var cts = TestHelpers.Guard();
        var name = "sbx-test-" + Guid.NewGuid().ToString("N")[..10];
        var first = await Provider.CreateAsync(fixture.Spec(DockerFixture.Busybox, s => s.Name = name), cts.Token);
        try
        {
            var ex = await Assert.ThrowsAsync<SandboxException>(() =>
                Provider.CreateAsync(fixture.Spec(DockerFixture.Busybox, s => s.Name = name), cts.Token));
            Assert.Equal("SandboxNameInUse", ex.ErrorId);
            Assert.Equal(SandboxErrorKind.AlreadyExists, ex.Kind);
            Assert.Equal(name, ex.Target);
            Assert.NotEqual(SandboxState.Gone, (await Provider.GetStatusAsync(first.Id, cts.Token)).State);
        }
        finally
        {
            await Provider.RemoveAsync(first.Id, cts.Token);
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task Create_MissingImage_ThrowsDockerImageNotFoundAndLeavesNothing()
    {
        using var cts = TestHelpers.Guard();
        var name = "sbx-noimage-" + Guid.NewGuid().ToString("N")[..8];
        var ex = await Assert.ThrowsAsync<SandboxException>(() =>
            Provider.CreateAsync(fixture.Spec("sandboxps/does-not-exist:never", s => s.Name = name), cts.Token));
        Assert.Equal("DockerImageNotFound", ex.ErrorId);
        Assert.Equal(SandboxErrorKind.NotFound, ex.Kind);
        Assert.Contains("pulling it failed", ex.Message); // no registry is reachable here
        Assert.Contains("when no registry is reachable from the engine (an offline machine), nothing can be pulled", ex.Message);
        Assert.Contains("docker build -t sandboxps/does-not-exist:never", ex.RecommendedAction);
        Assert.Contains("docker images", ex.RecommendedAction);
        Assert.Null(await Provider.GetAsync(name, cts.Token));
        var never = await Assert.ThrowsAsync<SandboxException>(() =>
            Provider.CreateAsync(fixture.Spec("sandboxps/does-not-exist:never", s => s.ProviderOptions["pull"] = "never"), cts.Token));
        Assert.Equal("DockerImageNotFound", never.ErrorId);
        Assert.Contains("pull=never forbids pulling it", never.Message);
        Assert.DoesNotContain("pulling it failed", never.Message);
        Assert.Contains("docker images", never.RecommendedAction);
    }

    [Fact(Timeout = 300_000)]
    public async Task Create_StartFails_DeletesTheContainerAndSurfacesTheEngineError()
    {
        using var cts = TestHelpers.Guard();
        var name = "sbx-badstart-" + Guid.NewGuid().ToString("N")[..8];
        // An unknown user: the container is created, then start fails.
        var ex = await Assert.ThrowsAsync<SandboxException>(() =>
            Provider.CreateAsync(fixture.Spec(DockerFixture.Debian, s => { s.Name = name; s.User = "no-such-user"; }), cts.Token));
        Assert.Contains("/start", ex.Message);
        Assert.Contains("no-such-user", ex.Message);
        Assert.Null(await Provider.GetAsync(name, cts.Token));
    }

    [Fact(Timeout = 300_000)]
    public async Task WaitReady_ServerExits_FailsFastWithExitCodeAndLogs()
    {
        using var cts = TestHelpers.Guard();
        // An image whose /tmp is a file: a non-root sandbox's server cannot work there and exits.
        var image = await Provider.Runtimes.EnsureAsync(new Core.Runtimes.RuntimeConfig
        {
            Name = "t-notmp-" + fixture.RunId[^8..],
            BaseImage = DockerFixture.Busybox,
            SetupCommands = ["rm -rf /tmp && touch /tmp"],
        }, new Core.Runtimes.RuntimeBuildOptions { Labels = { [DockerFixture.TestLabel] = fixture.RunId } }, cts.Token);
        var sandbox = await Provider.CreateAsync(fixture.Spec(image.Tag, s => s.User = "65534"), cts.Token);
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var ex = await Assert.ThrowsAsync<SandboxNotRunningException>(() => fixture.ReadyAsync(sandbox, cts.Token));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(50), "failed by waiting out the timeout");
            Assert.Equal(2, ex.ExitCode);
            Assert.Contains(ex.LastLogLines, l => l.Contains("/tmp", StringComparison.Ordinal));
            var status = await Provider.GetStatusAsync(sandbox.Id, cts.Token);
            Assert.Equal(SandboxState.Failed, status.State);
            Assert.Equal(2, status.ExitCode);
            Assert.Contains(await Provider.GetLogsAsync(sandbox.Id, 5, cts.Token), l => l.Contains("/tmp", StringComparison.Ordinal));
        }
        finally
        {
            await Provider.RemoveAsync(sandbox.Id, CancellationToken.None);
        }
    }

    public static TheoryData<string, string, Action<SandboxSpec>> BadSpecs => new()
    {
        { "InvalidSandboxName", "--name", s => s.Name = "bad name; rm -rf /" },
        { "InvalidEnvironmentVariable", "--env", s => s.Environment["BAD\nKEY"] = "x" },
        { "InvalidSpec", "--env", s => s.Environment["SANDBOXPS_TOKEN"] = "mine" },
        { "InvalidLabel", "--label", s => s.Labels["sandboxps.managed"] = "false" },
        { "InvalidSpec", "--workdir", s => s.WorkingDirectory = "relative/dir" },
        { "InvalidSpec", "--cpus", s => s.Cpus = -1 },
        { "InvalidSpec", "--memory", s => s.MemoryBytes = 1024 },
        { "InvalidSpec", "--image", s => s.Image = "busybox\nFROM evil" },
        { "InvalidSpec", "--image", s => s.Image = null },
        { "InvalidSpec", "--image/--runtime", s => s.Runtime = "python-minimal" },
        { "InvalidProviderOption", "init", s => s.ProviderOptions["init"] = "maybe" },
        { "InvalidProviderOption", "pull", s => s.ProviderOptions["pull"] = "sometimes" },
        { "InvalidProviderOption", "serverMount", s => s.ProviderOptions["serverMount"] = "volume" },
        { "InvalidProviderOption", "--provider-option", s => s.ProviderOptions["privileged"] = "true" },
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public async Task Create_BadSpec_ThrowsInvalidArgumentNamingTheParameter(string errorId, string parameter, Action<SandboxSpec> configure)
    {
        // A provider for an engine that does not exist: validation must fail before any call.
        using var provider = new DockerProvider("unix:///nonexistent/docker.sock");
        var ex = await Assert.ThrowsAsync<SandboxException>(() => provider.CreateAsync(fixture.Spec(DockerFixture.Busybox, configure)));
        Assert.Equal(SandboxErrorKind.InvalidArgument, ex.Kind);
        Assert.Equal(errorId, ex.ErrorId);
        Assert.Equal(parameter, ex.Target);
    }

    [Fact(Timeout = 300_000)]
    public async Task PauseResume_FreezesAndThaws()
    {
        using var cts = TestHelpers.Guard();
        var sandbox = await Provider.CreateAsync(fixture.Spec(DockerFixture.Busybox), cts.Token);
        try
        {
            await Provider.PauseAsync(sandbox.Id, cts.Token);
            Assert.Equal(SandboxState.Paused, (await Provider.GetStatusAsync(sandbox.Id, cts.Token)).State);
            await Provider.ResumeAsync(sandbox.Id, cts.Token);
            Assert.Equal(SandboxState.Running, (await Provider.GetStatusAsync(sandbox.Id, cts.Token)).State);
        }
        finally
        {
            await Provider.RemoveAsync(sandbox.Id, cts.Token);
        }
    }
}
