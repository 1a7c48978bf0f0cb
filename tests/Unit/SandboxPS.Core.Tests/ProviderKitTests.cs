using SandboxPS.Core.Providers.Docker;
using SandboxPS.Core.Providers.Kit;
using SandboxPS.Core.Providers.Process;
using SandboxPS.Protocol;

namespace SandboxPS.Core.Tests;

/// <summary>The provider kit: launch options, provider options, labels, reaping rule, create undo, endpoint discovery.</summary>
public sealed class ProviderKitTests
{
    [Fact]
    public void LaunchOptions_RoundTripThroughTheServersOwnParser()
    {
        var options = new ServerLaunchOptions
        {
            Listen = ServerLaunchOptions.ListenOn("0.0.0.0", 8787), TokenFile = "/t", WorkDir = "/w d",
            Ttl = TimeSpan.FromMinutes(90), IdleTimeout = TimeSpan.FromSeconds(1.2), MaxSessions = 7, Shell = "/bin/sh", Verbose = true,
        };
        var parsed = ServerLaunchOptions.Parse(options.ToArguments());
        Assert.Equal(options.Listen, parsed.Listen);
        Assert.Equal(("0.0.0.0", 8787), parsed.ListenEndpoint);
        Assert.Equal("/t", parsed.TokenFile);
        Assert.Equal("/w d", parsed.WorkDir);
        Assert.Equal(TimeSpan.FromMinutes(90), parsed.Ttl);
        Assert.Equal(TimeSpan.FromSeconds(2), parsed.IdleTimeout); // whole seconds, rounded up
        Assert.Equal(7, parsed.MaxSessions);
        Assert.Equal("/bin/sh", parsed.Shell);
        Assert.True(parsed.Verbose);

        var unix = ServerLaunchOptions.Parse(new ServerLaunchOptions { UnixSocket = "/run/s.sock", UnixMode = (UnixFileMode)0x1B6 }.ToArguments());
        Assert.Equal("/run/s.sock", unix.UnixSocket);
        Assert.Equal((UnixFileMode)0x1B6, unix.UnixMode);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--ttl")]
    [InlineData("--max-sessions=0")]
    [InlineData("--max-sessions=10001")]
    [InlineData("--listen=nohost")]
    [InlineData("--unix=")]
    public void LaunchOptions_BadArguments_FailWithAMessage(string arg)
    {
        var ex = Assert.ThrowsAny<FormatException>(() => ServerLaunchOptions.Parse([arg]));
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Fact]
    public void ProviderOption_ReadsDefaultAliasesAndListsValidValues()
    {
        Assert.Equal("auto", DockerSpecRules.Init.Read(new SandboxSpec()));
        Assert.Equal("true", DockerSpecRules.Init.Read(new SandboxSpec { ProviderOptions = { ["init"] = " YES " } }));
        var ex = Assert.Throws<SandboxException>(() => DockerSpecRules.Pull.Read(new SandboxSpec { ProviderOptions = { ["pull"] = "always" } }));
        Assert.Equal(SandboxErrorIds.InvalidProviderOption, ex.ErrorId);
        Assert.Contains("'missing'", ex.Message);
        Assert.Contains("'never'", ex.Message);
    }

    [Fact]
    public void ProviderRules_AreTheProvidersOwn_AndAcceptWhatTheProviderAccepts()
    {
        Assert.Same(DockerSpecRules.Rules, SandboxSpecRules.For("docker"));
        Assert.Same(ProcessSandboxProvider.Rules, SandboxSpecRules.For("process"));
        foreach (var option in new[] { DockerSpecRules.Init, DockerSpecRules.Pull, DockerSpecRules.ServerMount })
        {
            foreach (var value in option.ToRule().Values)
            {
                var spec = new SandboxSpec { Image = "x", ProviderOptions = { [option.Key] = value } };
                SpecValidator.Validate(spec, SandboxSpecRules.Docker, SpecNames.Cli);
                option.Read(spec);
            }
        }
    }

    [Fact]
    public void ManagedSandbox_LabelsRoundTrip_AndTheReapRuleIsOne()
    {
        var created = DateTimeOffset.UtcNow.AddMinutes(-2);
        var labels = ManagedSandbox.Labels("abc123abc123", "one", created, TimeSpan.FromMinutes(1), new SandboxSpec { Labels = { ["team"] = "a" } },
                                           new Dictionary<string, string> { ["scope"] = "s" });
        var sandbox = ManagedSandbox.FromLabels("docker", labels, "fallback", SandboxState.Running, null, "img");
        Assert.Equal("abc123abc123", sandbox.Id);
        Assert.Equal("one", sandbox.Name);
        Assert.Equal("a", sandbox.Labels["team"]);
        Assert.Equal("s", sandbox.Labels["scope"]);
        Assert.NotNull(sandbox.ExpiresAt);
        var now = DateTimeOffset.UtcNow;
        Assert.True(ManagedSandbox.IsReapable(sandbox, now, TimeSpan.Zero, includeEnded: false));
        Assert.False(ManagedSandbox.IsReapable(sandbox, now, TimeSpan.FromMinutes(5), includeEnded: false));
        sandbox.State = SandboxState.Stopped;
        Assert.True(ManagedSandbox.IsReapable(sandbox, now, TimeSpan.FromMinutes(5), includeEnded: true));
    }

    [Fact]
    public void ManagedSandbox_NeverStarted_WhenItsCreatorIsGoneOrItIsOld()
    {
        var labels = new Dictionary<string, string>
        {
            [SandboxLabels.Created] = SandboxLabelBuilder.FormatTime(DateTimeOffset.UtcNow.AddSeconds(-30)),
            [SandboxLabels.Owner] = Environment.MachineName + "/" + Environment.ProcessId,
        };
        Assert.False(ManagedSandbox.NeverStarted(labels, DateTimeOffset.UtcNow));
        Assert.True(ManagedSandbox.NeverStarted(labels, DateTimeOffset.UtcNow + ManagedSandbox.NeverStartedAfter));
        Assert.True(ManagedSandbox.CreatorIsGone(Environment.MachineName + "/" + int.MaxValue));
        Assert.False(ManagedSandbox.CreatorIsGone("other-host/" + int.MaxValue));
        Assert.False(ManagedSandbox.CreatorIsGone(null));
    }

    [Fact]
    public async Task CreateUndo_RunsNewestFirst_AndSwallowsStepFailures()
    {
        var order = new List<string>();
        var undo = new CreateUndo("test", "sb");
        undo.Add("first", () => order.Add("first"));
        undo.Add("broken", () => throw new IOException("boom"));
        undo.Add("last", _ => { order.Add("last"); return Task.CompletedTask; });
        await undo.RollBackAsync();
        Assert.Equal(["last", "first"], order);
        await undo.RollBackAsync(); // steps run once
        Assert.Equal(2, order.Count);
        var wrapped = undo.Wrap(new InvalidOperationException("inner"));
        Assert.Equal("SandboxCreateFailed", wrapped.ErrorId);
        Assert.Contains("inner", wrapped.Message);
        Assert.True(CreateUndo.Surfaces(new OperationCanceledException()));
        Assert.False(CreateUndo.Surfaces(new IOException()));
    }

    [Theory]
    [InlineData("{\"listening\":\"http://127.0.0.1:4242\",\"pid\":17}", true, "http://127.0.0.1:4242", 17)]
    [InlineData("{\"listening\":\"unix:/tmp/s.sock\",\"pid\":3}", true, "unix:/tmp/s.sock", 3)]
    [InlineData("{\"listening\":\"http://127.0.0.1:4242\"", false, "", 0)]
    [InlineData("{\"listening\":\"\",\"pid\":1}", false, "", 0)]
    [InlineData("{\"listening\":\"x\",\"pid\":-1}", false, "", 0)]
    [InlineData("hello", false, "", 0)]
    public void ServerEndpoint_ParsesOnlyAWholeListeningLine(string line, bool ok, string endpoint, int pid)
    {
        Assert.Equal(ok, ServerEndpoint.TryParseListeningLine(line, out var e, out var p));
        Assert.Equal(endpoint, e);
        Assert.Equal(pid, p);
    }

    [Fact]
    public void ServerToken_HandedAndRecoveredByEnvironment()
    {
        var token = ServerToken.New();
        Assert.Equal(token, ServerToken.FromEnvironment(["A=1", ServerToken.EnvironmentEntry(token)]));
        Assert.Null(ServerToken.FromEnvironment(["A=1"]));
    }
}
