using SandboxPS.Core;

namespace SandboxPS.Core.Tests;

public class DurationParserTests
{
    [Theory]
    [InlineData("90s", 90)]
    [InlineData("10m", 600)]
    [InlineData("2h", 7200)]
    [InlineData("1h30m", 5400)]
    [InlineData("45", 45)]
    [InlineData("1.5", 1.5)]
    [InlineData("1d", 86400)]
    [InlineData("500ms", 0.5)]
    [InlineData(" 2M ", 120)]
    public void Parse_ValidText_ReturnsDuration(string text, double seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), DurationParser.Parse(text, "--ttl"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("10x")]
    [InlineData("0")]
    [InlineData("0s")]
    [InlineData("-5")]
    [InlineData("m10")]
    [InlineData("1h1h")]
    [InlineData("10 m")]
    public void Parse_InvalidText_ThrowsInvalidDurationNamingTheParameter(string text)
    {
        var ex = Assert.Throws<SandboxException>(() => DurationParser.Parse(text, "--idle-timeout"));
        Assert.Equal(SandboxErrorKind.InvalidArgument, ex.Kind);
        Assert.Equal(SandboxErrorIds.InvalidDuration, ex.ErrorId);
        Assert.Equal("--idle-timeout", ex.Target);
        Assert.Contains("--idle-timeout", ex.Message);
        Assert.NotNull(ex.RecommendedAction);
    }

    [Fact]
    public void Format_RoundTripsThroughParse()
    {
        foreach (var span in new[] { TimeSpan.FromSeconds(90), TimeSpan.FromMinutes(10), TimeSpan.FromHours(1.5), TimeSpan.FromMilliseconds(250) })
        {
            Assert.Equal(span, DurationParser.Parse(DurationParser.Format(span), "x"));
        }
        Assert.Equal("1m30s", DurationParser.Format(TimeSpan.FromSeconds(90)));
    }

    [Theory]
    [InlineData("512m", 512L << 20)]
    [InlineData("2g", 2L << 30)]
    [InlineData("1024", 1024)]
    [InlineData("1.5GiB", 3L << 29)]
    public void SizeParser_ValidText_ReturnsBytes(string text, long bytes) => Assert.Equal(bytes, SizeParser.Parse(text, "--memory"));

    [Theory]
    [InlineData("lots")]
    [InlineData("12q")]
    [InlineData("0")]
    public void SizeParser_InvalidText_Throws(string text)
    {
        var ex = Assert.Throws<SandboxException>(() => SizeParser.Parse(text, "--memory"));
        Assert.Equal(SandboxErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("--memory", ex.Message);
    }
}

public class SpecValidatorTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("build-1")]
    [InlineData("agent_a.v2")]
    [InlineData("X")]
    public void ValidateName_GoodNames_Pass(string name) => SpecValidator.ValidateName(name);

    [Theory]
    [InlineData("")]
    [InlineData("-lead")]
    [InlineData("has space")]
    [InlineData("slash/name")]
    [InlineData("ümlaut")]
    public void ValidateName_BadNames_ThrowInvalidSandboxName(string name)
    {
        var ex = Assert.Throws<SandboxException>(() => SpecValidator.ValidateName(name));
        Assert.Equal(SandboxErrorIds.InvalidSandboxName, ex.ErrorId);
    }

    [Fact]
    public void ValidateName_TooLong_Throws()
    {
        SpecValidator.ValidateName(new string('a', 63));
        Assert.Throws<SandboxException>(() => SpecValidator.ValidateName(new string('a', 64)));
    }

    [Fact]
    public void Validate_ReservedLabelPrefix_IsRejected()
    {
        var spec = new SandboxSpec();
        spec.Labels["sandboxps.id"] = "mine";
        var ex = Assert.Throws<SandboxException>(() => SpecValidator.Validate(spec, "process"));
        Assert.Equal(SandboxErrorIds.InvalidLabel, ex.ErrorId);
        Assert.Contains("sandboxps.", ex.Message);
    }

    [Fact]
    public void Validate_BadEnvironmentName_IsRejected()
    {
        var spec = new SandboxSpec();
        spec.Environment["1BAD"] = "x";
        var ex = Assert.Throws<SandboxException>(() => SpecValidator.Validate(spec, "process"));
        Assert.Equal(SandboxErrorIds.InvalidEnvironmentVariable, ex.ErrorId);
    }

    [Fact]
    public void Validate_UnknownProviderOption_ListsTheValidOnes()
    {
        var spec = new SandboxSpec();
        spec.ProviderOptions["serverPth"] = "/x";
        var ex = Assert.Throws<SandboxException>(() => SpecValidator.Validate(spec, "process", ["serverPath", "other"]));
        Assert.Equal(SandboxErrorIds.InvalidProviderOption, ex.ErrorId);
        Assert.Contains("serverPth", ex.Message);
        Assert.Contains("serverPath", ex.Message);
        Assert.Contains("other", ex.Message);
    }

    [Fact]
    public void Validate_NonPositiveDurationsAndLimits_AreRejected()
    {
        Assert.Equal(SandboxErrorIds.InvalidDuration,
            Assert.Throws<SandboxException>(() => SpecValidator.Validate(new SandboxSpec { TimeToLive = TimeSpan.Zero }, "p")).ErrorId);
        Assert.Equal(SandboxErrorIds.InvalidDuration,
            Assert.Throws<SandboxException>(() => SpecValidator.Validate(new SandboxSpec { IdleTimeout = TimeSpan.FromSeconds(-1) }, "p")).ErrorId);
        Assert.Contains("--max-sessions",
            Assert.Throws<SandboxException>(() => SpecValidator.Validate(new SandboxSpec { MaxSessions = 0 }, "p")).Target);
        Assert.Contains("--cpus",
            Assert.Throws<SandboxException>(() => SpecValidator.Validate(new SandboxSpec { Cpus = -1 }, "p")).Target);
    }

    [Fact]
    public void Validate_ImageAndRuntimeTogether_AreRejected()
    {
        var ex = Assert.Throws<SandboxException>(() => SpecValidator.Validate(new SandboxSpec { Image = "a", Runtime = "b" }, "docker"));
        Assert.Equal(SandboxErrorIds.InvalidSpec, ex.ErrorId);
    }

    [Fact]
    public void RejectUnsupported_NamesTheCliOption()
    {
        var spec = new SandboxSpec { MemoryBytes = 1 << 20 };
        var ex = Assert.Throws<SandboxException>(() => SpecValidator.RejectUnsupported(spec, "process", "no limits", nameof(SandboxSpec.Cpus), nameof(SandboxSpec.MemoryBytes)));
        Assert.Equal(SandboxErrorIds.ProviderOptionNotSupported, ex.ErrorId);
        Assert.Contains("--memory", ex.Message);
        SpecValidator.RejectUnsupported(new SandboxSpec(), "process", "no limits", nameof(SandboxSpec.Cpus), nameof(SandboxSpec.ReadOnlyRootFilesystem));
    }

    [Theory]
    [InlineData("A=b", "A", "b")]
    [InlineData("A=", "A", "")]
    [InlineData("A=b=c", "A", "b=c")]
    public void ParseKeyValue_SplitsAtFirstEquals(string text, string key, string value)
    {
        var kv = SpecValidator.ParseKeyValue(text, "--env");
        Assert.Equal(key, kv.Key);
        Assert.Equal(value, kv.Value);
    }

    [Theory]
    [InlineData("novalue")]
    [InlineData("=x")]
    public void ParseKeyValue_Malformed_NamesTheParameter(string text)
    {
        var ex = Assert.Throws<SandboxException>(() => SpecValidator.ParseKeyValue(text, "--label"));
        Assert.Equal(SandboxErrorIds.InvalidLabel, ex.ErrorId);
        Assert.Contains("--label", ex.Message);
    }
}

public class LabelBuilderTests
{
    [Fact]
    public void Build_SetsOurLabelsAndKeepsUserLabels()
    {
        var created = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var labels = SandboxLabelBuilder.Build("abc123", "work", created, created.AddHours(1),
            new Dictionary<string, string> { ["team"] = "ci", ["sandboxps.id"] = "forged" }, runtime: "python");
        Assert.Equal("true", labels[SandboxLabels.Managed]);
        Assert.Equal("abc123", labels[SandboxLabels.Id]);
        Assert.Equal("work", labels[SandboxLabels.Name]);
        Assert.Equal("2026-01-02T03:04:05Z", labels[SandboxLabels.Created]);
        Assert.Equal("2026-01-02T04:04:05Z", labels[SandboxLabels.Expires]);
        Assert.Equal($"{Environment.MachineName}/{Environment.ProcessId}", labels[SandboxLabels.Owner]);
        Assert.Equal(SandboxLabelBuilder.ToolVersion, labels[SandboxLabels.Version]);
        Assert.Equal("python", labels[SandboxLabels.Runtime]);
        Assert.Equal("ci", labels["team"]);
        Assert.Equal(created.AddHours(1), SandboxLabelBuilder.ParseTime(labels[SandboxLabels.Expires]));
    }

    [Fact]
    public void Build_WithoutExpiry_HasNoExpiresLabel()
    {
        var labels = SandboxLabelBuilder.Build("a", "b", DateTimeOffset.UtcNow, null, null);
        Assert.False(labels.ContainsKey(SandboxLabels.Expires));
        Assert.False(labels.ContainsKey(SandboxLabels.Runtime));
    }

    [Fact]
    public void NewIdAndToken_AreRandomAndWellFormed()
    {
        var id = SandboxLabelBuilder.NewId();
        Assert.Matches("^[0-9a-f]{16}$", id);
        Assert.NotEqual(id, SandboxLabelBuilder.NewId());
        Assert.Equal("sbx-" + id[..8], SandboxLabelBuilder.DefaultName(id));
        var token = SandboxLabelBuilder.NewToken();
        Assert.Matches("^[A-Za-z0-9_-]{43}$", token);
    }

    [Fact]
    public void Matches_RequiresEveryFilterPair()
    {
        var labels = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" };
        Assert.True(SandboxLabelBuilder.Matches(labels, null));
        Assert.True(SandboxLabelBuilder.Matches(labels, new Dictionary<string, string> { ["a"] = "1" }));
        Assert.False(SandboxLabelBuilder.Matches(labels, new Dictionary<string, string> { ["a"] = "2" }));
        Assert.False(SandboxLabelBuilder.Matches(labels, new Dictionary<string, string> { ["c"] = "1" }));
    }
}
