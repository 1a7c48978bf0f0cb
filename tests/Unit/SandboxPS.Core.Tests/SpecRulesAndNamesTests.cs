namespace SandboxPS.Core.Tests;

/// <summary>The one spec validator: the same bounds for every front end, worded in each front end's names.</summary>
public sealed class SpecRulesAndNamesTests
{
    private static readonly SpecNames PowerShellLike = new()
    {
        TimeToLive = "-TimeToLive", Cpus = "-Cpus", MemoryBytes = "-Memory", WorkingDirectory = "-WorkingDirectory",
        ProviderOptions = "-ProviderOption", Provider = "-Provider", Image = "-Image", Runtime = "-Runtime",
        ProviderOptionExample = "-ProviderOption @{{ {0} = '{1}' }}",
    };

    public static TheoryData<string, string, Action<SandboxSpec>> DockerBadSpecs => new()
    {
        { "InvalidSandboxName", "SandboxSpec.Name", s => s.Name = "bad name; rm -rf /" },
        { "InvalidEnvironmentVariable", "SandboxSpec.Environment", s => s.Environment["BAD\nKEY"] = "x" },
        { "InvalidSpec", "SandboxSpec.Environment", s => s.Environment["SANDBOXPS_TOKEN"] = "mine" },
        { "InvalidLabel", "SandboxSpec.Labels", s => s.Labels["sandboxps.managed"] = "false" },
        { "InvalidSpec", "SandboxSpec.WorkingDirectory", s => s.WorkingDirectory = "relative/dir" },
        { "InvalidSpec", "SandboxSpec.Cpus", s => s.Cpus = -1 },
        { "InvalidSpec", "SandboxSpec.Cpus", s => s.Cpus = double.PositiveInfinity },
        { "InvalidSpec", "SandboxSpec.MemoryBytes", s => s.MemoryBytes = 1024 },
        { "InvalidSpec", "SandboxSpec.Image", s => s.Image = "busybox\nFROM evil" },
        { "InvalidSpec", "SandboxSpec.Image", s => s.Image = null },
        { "InvalidSpec", "SandboxSpec.Image/SandboxSpec.Runtime", s => s.Runtime = "python-minimal" },
        { "InvalidSpec", "SandboxSpec.User", s => s.User = "me you" },
        { "InvalidSpec", "SandboxSpec.NetworkMode", s => s.NetworkMode = "" },
        { "InvalidSpec", "SandboxSpec.MaxSessions", s => s.MaxSessions = 1025 },
        { "InvalidDuration", "SandboxSpec.TimeToLive", s => s.TimeToLive = TimeSpan.Zero },
        { "InvalidProviderOption", "init", s => s.ProviderOptions["init"] = "maybe" },
        { "InvalidProviderOption", "pull", s => s.ProviderOptions["pull"] = "sometimes" },
        { "InvalidProviderOption", "serverMount", s => s.ProviderOptions["serverMount"] = "volume" },
        { "InvalidProviderOption", "SandboxSpec.ProviderOptions", s => s.ProviderOptions["privileged"] = "true" },
    };

    [Theory]
    [MemberData(nameof(DockerBadSpecs))]
    public void Validate_DockerRules_NameTheSpecField(string errorId, string parameter, Action<SandboxSpec> configure)
    {
        var spec = new SandboxSpec { Image = "sandboxps/busybox:1.35" };
        configure(spec);
        var ex = Assert.Throws<SandboxException>(() => SpecValidator.Validate(spec, SandboxSpecRules.Docker));
        Assert.Equal(SandboxErrorKind.InvalidArgument, ex.Kind);
        Assert.Equal(errorId, ex.ErrorId);
        Assert.Equal(parameter, ex.Target);
    }

    [Fact]
    public void Validate_GoodDockerSpec_Passes()
    {
        var spec = new SandboxSpec { Image = "sandboxps/busybox:1.35", Cpus = 0.5, MemoryBytes = 64 << 20, WorkingDirectory = "/work", User = "1000:1000", MaxSessions = 1024 };
        spec.ProviderOptions["INIT"] = " True ";
        spec.ProviderOptions["pull"] = "never";
        SpecValidator.Validate(spec, SandboxSpecRules.For("docker"));
    }

    [Fact]
    public void Validate_WordsMessagesAndAdviceInTheCallersNames()
    {
        var cli = Assert.Throws<SandboxException>(() => SpecValidator.Validate(new SandboxSpec { TimeToLive = TimeSpan.Zero }, SandboxSpecRules.Process, SpecNames.Cli));
        Assert.Equal("--ttl", cli.Target);
        Assert.Contains("--ttl", cli.Message);
        Assert.Contains("--ttl", cli.RecommendedAction);

        var ps = Assert.Throws<SandboxException>(() => SpecValidator.Validate(new SandboxSpec { TimeToLive = TimeSpan.Zero }, SandboxSpecRules.Process, PowerShellLike));
        Assert.Equal(cli.ErrorId, ps.ErrorId);
        Assert.Equal("-TimeToLive", ps.Target);
        Assert.DoesNotContain("--", ps.Message + ps.RecommendedAction);
        Assert.Contains("-TimeToLive", ps.RecommendedAction);
    }

    [Fact]
    public void Validate_UnsupportedField_NamesTheFrontEndsOptionAndProvider()
    {
        var ex = Assert.Throws<SandboxException>(() => SpecValidator.Validate(new SandboxSpec { MemoryBytes = 1 << 30 }, SandboxSpecRules.Process, PowerShellLike));
        Assert.Equal(SandboxErrorIds.ProviderOptionNotSupported, ex.ErrorId);
        Assert.Equal("-Memory", ex.Target);
        Assert.Contains("-Provider docker", ex.RecommendedAction);
    }

    [Fact]
    public void Validate_OptionValue_AdviceShowsTheFrontEndsSyntax()
    {
        var spec = new SandboxSpec { Image = "img" };
        spec.ProviderOptions["pull"] = "always";
        var ex = Assert.Throws<SandboxException>(() => SpecValidator.Validate(spec, SandboxSpecRules.Docker, PowerShellLike));
        Assert.Contains("-ProviderOption @{ pull = 'missing' }", ex.RecommendedAction);
        var cli = Assert.Throws<SandboxException>(() => SpecValidator.Validate(spec, SandboxSpecRules.Docker, SpecNames.Cli));
        Assert.Contains("--provider-option pull=missing", cli.RecommendedAction);
    }

    [Fact]
    public void Validate_UnknownProvider_ChecksOnlyTheCommonRules()
    {
        var spec = new SandboxSpec { Cpus = 2 };
        spec.ProviderOptions["anything"] = "x";
        SpecValidator.Validate(spec, SandboxSpecRules.For("kubernetes"));
        Assert.Throws<SandboxException>(() => SpecValidator.Validate(new SandboxSpec { Cpus = 0 }, SandboxSpecRules.For("kubernetes")));
    }

    [Theory]
    [InlineData("process")]
    [InlineData("docker")]
    public void Validate_TheSameBoundsForEveryProvider(string provider)
    {
        // One place for the limits: a session limit of 1024 passes and 1025 fails, whoever asks.
        var rules = SandboxSpecRules.For(provider) with { Unsupported = [], RequiresImageOrRuntime = false };
        SpecValidator.Validate(new SandboxSpec { MaxSessions = SpecValidator.MaxSessionLimit }, rules);
        Assert.Throws<SandboxException>(() => SpecValidator.Validate(new SandboxSpec { MaxSessions = SpecValidator.MaxSessionLimit + 1 }, rules));
        Assert.Throws<SandboxException>(() => SpecValidator.Validate(new SandboxSpec { Cpus = SpecValidator.MaxCpus + 1 }, rules));
    }
}
