using System.Collections;
using System.Runtime.CompilerServices;
using SandboxPS.Core;
using SandboxPS.Core.Automation;

namespace SandboxPS.Tests;

public class NewSandboxRequestBuilderTests
{
    [Fact]
    public void Build_ImageWithoutProvider_DefaultsToDocker()
    {
        var request = NewSandboxRequestBuilder.Build(new NewSandboxParameters { Image = "sandboxps/busybox:1.35" });
        Assert.Equal("docker", request.Provider);
        Assert.Equal("sandboxps/busybox:1.35", request.Spec.Image);
    }

    [Fact]
    public void Build_NothingGiven_DefaultsToProcessWithGeneratedName()
    {
        var request = NewSandboxRequestBuilder.Build(new NewSandboxParameters());
        Assert.Equal("process", request.Provider);
        Assert.Null(request.Spec.Name);
        Assert.Contains("(generated name)", request.Target);
    }

    [Fact]
    public void Build_EveryParameter_LandsInTheSpec()
    {
        var request = NewSandboxRequestBuilder.Build(new NewSandboxParameters
        {
            Provider = SandboxProviderKind.Docker,
            Image = "img",
            Name = "web-1",
            Label = new Hashtable { ["ci"] = 1, ["team"] = "web" },
            Environment = new Hashtable { ["TZ"] = "UTC", ["DEBUG"] = true },
            WorkingDirectory = "/work",
            TimeToLive = "1h30m",
            IdleTimeout = 600,
            Cpus = 0.5,
            MemoryMB = 256,
            PidsLimit = 100,
            NetworkMode = "none",
            ReadOnlyRootFilesystem = true,
            User = "1000:1000",
            MaxSessions = 4,
            ProviderOption = new Hashtable { ["init"] = "true" },
        });
        var spec = request.Spec;
        Assert.Equal("web-1", spec.Name);
        Assert.Equal("1", spec.Labels["ci"]);
        Assert.Equal("web", spec.Labels["team"]);
        Assert.Equal("UTC", spec.Environment["TZ"]);
        Assert.Equal("true", spec.Environment["DEBUG"]);
        Assert.Equal("/work", spec.WorkingDirectory);
        Assert.Equal(TimeSpan.FromMinutes(90), spec.TimeToLive);
        Assert.Equal(TimeSpan.FromSeconds(600), spec.IdleTimeout);
        Assert.Equal(0.5, spec.Cpus);
        Assert.Equal(256L * 1024 * 1024, spec.MemoryBytes);
        Assert.Equal(100, spec.PidsLimit);
        Assert.Equal("none", spec.NetworkMode);
        Assert.True(spec.ReadOnlyRootFilesystem);
        Assert.Equal("1000:1000", spec.User);
        Assert.Equal(4, spec.MaxSessions);
        Assert.Equal("true", spec.ProviderOptions["INIT"]);
        Assert.Equal("web-1 (docker, image img)", request.Target);
    }

    [Fact]
    public void Build_MemoryWithUnit_IsParsedByTheCore()
    {
        var spec = NewSandboxRequestBuilder.Build(new NewSandboxParameters { Image = "img", Memory = "2g" }).Spec;
        Assert.Equal(2L << 30, spec.MemoryBytes);
    }

    [Theory]
    [MemberData(nameof(Conflicts))]
    public void Build_ConflictingOrInvalidParameters_NameTheParameter(int index, string parameter)
    {
        var ex = Assert.Throws<SandboxException>(() => NewSandboxRequestBuilder.Build(ConflictCases[index].Parameters));
        Assert.Equal(SandboxErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("-" + parameter, ex.Message);
    }

    private static readonly (NewSandboxParameters Parameters, string Parameter)[] ConflictCases =
    [
        (new NewSandboxParameters { Image = "a", Runtime = "python-minimal" }, "Image"),
        (new NewSandboxParameters { MemoryMB = 10, Memory = "1g" }, "MemoryMB"),
        (new NewSandboxParameters { Cpus = 0 }, "Cpus"),
        (new NewSandboxParameters { Cpus = double.NaN }, "Cpus"),
        (new NewSandboxParameters { MemoryMB = -1 }, "MemoryMB"),
        (new NewSandboxParameters { PidsLimit = 0 }, "PidsLimit"),
        (new NewSandboxParameters { Memory = "lots" }, "Memory"),
        (new NewSandboxParameters { TimeToLive = "soon" }, "TimeToLive"),
        (new NewSandboxParameters { TimeToLive = TimeSpan.Zero }, "TimeToLive"),
        (new NewSandboxParameters { IdleTimeout = -5 }, "IdleTimeout"),
        (new NewSandboxParameters { MaxSessions = 2000 }, "SessionLimit"),
        (new NewSandboxParameters { Name = "bad name" }, "Name"),
        (new NewSandboxParameters { Memory = "1g" }, "Memory"),
        (new NewSandboxParameters { Image = "img", MemoryMB = 1 }, "MemoryMB"),
        (new NewSandboxParameters { Image = "img", WorkingDirectory = "relative" }, "WorkingDirectory"),
        (new NewSandboxParameters { Label = new Hashtable { ["sandboxps.id"] = "x" } }, "Label"),
        (new NewSandboxParameters { Label = new Hashtable { ["k"] = null } }, "Label"),
        (new NewSandboxParameters { Environment = new Hashtable { [" "] = "v" } }, "Environment"),
    ];

    public static TheoryData<int, string> Conflicts()
    {
        var data = new TheoryData<int, string>();
        for (var i = 0; i < ConflictCases.Length; i++)
        {
            data.Add(i, ConflictCases[i].Parameter);
        }
        return data;
    }

    [Fact]
    public void Build_RuntimeFilePath_IsResolvedAgainstTheCallerLocation()
    {
        var spec = NewSandboxRequestBuilder.Build(new NewSandboxParameters { Runtime = "./rt.yaml" }, p => "/home/me/project/" + p[2..]).Spec;
        Assert.Equal("/home/me/project/rt.yaml", spec.Runtime);
        var builtIn = NewSandboxRequestBuilder.Build(new NewSandboxParameters { Runtime = "python-minimal" }, p => throw new InvalidOperationException()).Spec;
        Assert.Equal("python-minimal", builtIn.Runtime);
    }

    [Theory]
    [InlineData("python-minimal", false)]
    [InlineData("./rt.yaml", true)]
    [InlineData("rt.json", true)]
    [InlineData("dir/sub", true)]
    [InlineData("~/rt.yml", true)]
    public void LooksLikePath_TellsFilesFromNames(string runtime, bool expected)
    {
        Assert.Equal(expected, NewSandboxRequestBuilder.LooksLikePath(runtime));
    }
}

public class ParameterConversionTests
{
    [Theory]
    [InlineData(90, 90)]
    [InlineData(1.5, 1.5)]
    [InlineData("90s", 90)]
    [InlineData("10m", 600)]
    [InlineData("1h30m", 5400)]
    [InlineData("45", 45)]
    public void ToDuration_ReadsSecondsAndUnits(object value, double seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), ParameterConversion.ToDuration(value, "TimeToLive"));
    }

    [Fact]
    public void ToDuration_TimeSpanPassesThrough()
    {
        Assert.Equal(TimeSpan.FromMinutes(3), ParameterConversion.ToDuration(TimeSpan.FromMinutes(3), "X"));
    }

    [Theory]
    [InlineData("later")]
    [InlineData(null)]
    public void ToDuration_InvalidValue_NamesTheParameter(object? value)
    {
        var ex = Assert.Throws<SandboxException>(() => ParameterConversion.ToDuration(value, "IdleTimeout"));
        Assert.Equal(SandboxErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("IdleTimeout", ex.Message);
    }

    [Fact]
    public void ToDuration_UnsupportedType_IsRejected()
    {
        var ex = Assert.Throws<SandboxException>(() => ParameterConversion.ToDuration(new object(), "IdleTimeout"));
        Assert.Contains("Object", ex.Message);
    }

    [Fact]
    public void ToStringDictionary_ConvertsInvariantly()
    {
        var result = ParameterConversion.ToStringDictionary(new Hashtable { ["pi"] = 3.5, ["on"] = false, ["n"] = 7 }, "Label");
        Assert.Equal("3.5", result["pi"]);
        Assert.Equal("false", result["on"]);
        Assert.Equal("7", result["n"]);
        Assert.Empty(ParameterConversion.ToStringDictionary(null, "Label"));
    }
}

public class SandboxRefTests
{
    private static readonly Sandbox Web = new("0123456789abcdef", "web-1", "docker", SandboxState.Ready, "http://127.0.0.1:1",
        "img", null, new Dictionary<string, string>(), DateTimeOffset.UnixEpoch, null);

    [Fact]
    public async Task FromObject_Sandbox_NeedsNoResolution()
    {
        var r = SandboxRef.FromObject(Web);
        Assert.Same(Web, r.Sandbox);
        Assert.Same(Web, await r.ResolveAsync((_, _) => throw new InvalidOperationException("must not resolve"), default));
    }

    [Fact]
    public void FromObject_SessionAndResult_CarryTheirSandboxAndSession()
    {
        var session = SandboxRef.FromObject(new SandboxSession { Id = "builder", SandboxId = Web.Id, Kind = "shell" });
        Assert.Equal(Web.Id, session.Key);
        Assert.Equal("builder", session.SessionId);
        var result = SandboxRef.FromObject(new SandboxActionResult { SandboxId = Web.Id, SessionId = "default", Action = "Command" });
        Assert.Equal(Web.Id, result.Key);
        Assert.Equal("default", result.SessionId);
    }

    [Fact]
    public async Task FromObject_String_ResolvesThroughTheGivenFunction()
    {
        var r = SandboxRef.FromObject(" web-1 ");
        Assert.Equal("web-1", r.Key);
        Assert.Equal("web-1", r.ToString());
        Assert.Same(Web, await r.ResolveAsync((key, _) => Task.FromResult(key == "web-1" ? Web : throw new InvalidOperationException()), default));
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData(42)]
    public void FromObject_Nonsense_IsInvalidArgumentForSandbox(object? value)
    {
        var ex = Assert.Throws<SandboxException>(() => SandboxRef.FromObject(value));
        Assert.Equal(SandboxErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("-Sandbox", ex.Message);
    }
}

public class SandboxSelectionTests
{
    private static Sandbox Make(string id, string name, SandboxState state = SandboxState.Ready, DateTimeOffset? expires = null) =>
        new(id, name, "process", state, null, null, null, new Dictionary<string, string>(), DateTimeOffset.UnixEpoch, expires);

    private static readonly Sandbox[] All = [Make("aaa111", "web-1"), Make("aaa222", "web-2"), Make("bbb333", "api")];

    [Fact]
    public void NameFilter_WildcardsMatchAndLiteralsReportMisses()
    {
        var filter = new NameFilter(["web-*", "api", "missing", "gone-*"]);
        Assert.Equal(["web-1", "web-2", "api"], All.Where(filter.IsMatch).Select(s => s.Name));
        Assert.Equal(["missing"], filter.UnmatchedLiterals);
    }

    [Fact]
    public void NameFilter_NoPattern_MatchesEverything()
    {
        var filter = new NameFilter(null);
        Assert.True(filter.MatchesAll);
        Assert.Equal(3, All.Count(filter.IsMatch));
        Assert.Empty(filter.UnmatchedLiterals);
    }

    [Fact]
    public void IdMatcher_ExactOrUniquePrefix()
    {
        Assert.Equal("api", SandboxIdMatcher.Pick(All, "bbb").Name);
        Assert.Equal("web-2", SandboxIdMatcher.Pick(All, "AAA222").Name);
    }

    [Fact]
    public void IdMatcher_AmbiguousPrefix_ListsTheMatches()
    {
        var ex = Assert.Throws<SandboxException>(() => SandboxIdMatcher.Pick(All, "aaa"));
        Assert.Equal("SandboxAmbiguous", ex.ErrorId);
        Assert.Contains("web-1", ex.Message);
        Assert.Contains("web-2", ex.Message);
    }

    [Fact]
    public void IdMatcher_NamesAreNotIds()
    {
        var ex = Assert.Throws<SandboxException>(() => SandboxIdMatcher.Pick(All, "web-1"));
        Assert.Equal("SandboxNotFound", ex.ErrorId);
        Assert.Equal(SandboxErrorKind.NotFound, ex.Kind);
    }

    [Fact]
    public void IdsOf_PipedSessionsLookUpTheirSandbox_NotTheirOwnId()
    {
        var session = new SandboxSession { Id = "bbb", SandboxId = "aaa222", Kind = "shell" };
        var ids = SandboxIdMatcher.IdsOf([], [session]);
        Assert.Equal(["aaa222"], ids);
        Assert.Equal("web-2", SandboxIdMatcher.Pick(All, ids[0]).Name);
        Assert.Equal(["aaa111"], SandboxIdMatcher.IdsOf(["aaa111"], []));
    }

    [Fact]
    public void SessionIsNotASandbox_NamesBothWaysOut()
    {
        var ex = SandboxIdMatcher.SessionIsNotASandbox(new SandboxSession { Id = "s1", SandboxId = "aaa222", SandboxName = "web-2", Kind = "shell" });
        Assert.Equal("SessionPipedToRemoveSandbox", ex.ErrorId);
        Assert.Equal(SandboxErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("'s1'", ex.Message);
        Assert.Contains("'web-2'", ex.Message);
        Assert.Contains("nothing was removed", ex.Message);
        Assert.Contains("Remove-SandboxSession", ex.RecommendedAction);
        Assert.Contains("Remove-Sandbox -Id aaa222", ex.RecommendedAction);
    }

    [Fact]
    public void IsExpired_StoppedFailedGoneOrPastExpiry()
    {
        var now = DateTimeOffset.UtcNow;
        Assert.True(SandboxIdMatcher.IsExpired(Make("1", "a", SandboxState.Stopped), now));
        Assert.True(SandboxIdMatcher.IsExpired(Make("1", "a", SandboxState.Failed), now));
        Assert.True(SandboxIdMatcher.IsExpired(Make("1", "a", SandboxState.Ready, now.AddSeconds(-1)), now));
        Assert.False(SandboxIdMatcher.IsExpired(Make("1", "a", SandboxState.Ready, now.AddMinutes(5)), now));
        Assert.False(SandboxIdMatcher.IsExpired(Make("1", "a", SandboxState.Ready), now));
    }
}

public class StreamLineSplitterTests
{
    [Fact]
    public void Push_LinesSplitAcrossChunks_ComeOutWhole()
    {
        var splitter = new StreamLineSplitter();
        Assert.Empty(splitter.Push("hel"));
        Assert.Equal(["hello"], splitter.Push("lo\nwor"));
        Assert.Equal(["world", ""], splitter.Push("ld\r\n\n"));
        Assert.Null(splitter.Flush());
    }

    [Fact]
    public void Flush_ReturnsTheUnterminatedTail()
    {
        var splitter = new StreamLineSplitter();
        splitter.Push("a\nprompt> ");
        Assert.Equal("prompt> ", splitter.Flush());
        Assert.Null(splitter.Flush());
    }
}

public class CompletionSourceTests
{
    private static async IAsyncEnumerable<(string, string)> Items(string[] names, [EnumeratorCancellation] CancellationToken ct = default)
    {
        foreach (var name in names)
        {
            await Task.Yield();
            ct.ThrowIfCancellationRequested();
            yield return (name, name + " tip");
        }
    }

    [Fact]
    public void Complete_FiltersByPrefixCaseInsensitivelyAndSorts()
    {
        var result = CompletionSource.Complete(ct => Items(["web-2", "api", "Web-1"], ct), "we");
        Assert.Equal(["Web-1", "web-2"], result.Select(r => r.CompletionText));
        Assert.Equal("web-2 tip", result[1].ToolTip);
    }

    [Fact]
    public void Complete_QuotedWord_IsUnquotedForMatching()
    {
        var result = CompletionSource.Complete(ct => Items(["my box", "web"], ct), "'my");
        Assert.Equal("'my box'", Assert.Single(result).CompletionText);
    }

    [Fact]
    public void Complete_FailingSource_ReturnsNothing()
    {
        static async IAsyncEnumerable<(string, string)> Fail([EnumeratorCancellation] CancellationToken ct = default)
        {
            await Task.Yield();
            throw new SandboxException(SandboxErrorKind.ProviderUnavailable, "DockerEngineUnavailable", "down");
#pragma warning disable CS0162
            yield break;
#pragma warning restore CS0162
        }
        Assert.Empty(CompletionSource.Complete(_ => Fail(), ""));
    }

    [Fact(Timeout = 30_000)]
    public async Task Complete_HangingSource_ReturnsWhatArrivedWithinTheTimeout()
    {
        static async IAsyncEnumerable<(string, string)> Hang([EnumeratorCancellation] CancellationToken ct = default)
        {
            yield return ("first", "");
            await Task.Delay(Timeout.Infinite, CancellationToken.None); // ignores its token on purpose
            yield return ("never", "");
        }
        // 2 s (the completer's default budget): with 200 ms a thread pool busy with parallel test classes
        // sometimes had not started the enumeration yet, and the completion was empty.
        var result = await Task.Run(() => CompletionSource.Complete(_ => Hang(), "", TimeSpan.FromSeconds(2)));
        Assert.Equal(["first"], result.Select(r => r.CompletionText));
    }

    [Theory]
    [InlineData("web-1", "web-1")]
    [InlineData("my box", "'my box'")]
    [InlineData("it's", "'it''s'")]
    [InlineData("$x", "'$x'")]
    [InlineData("-dash", "'-dash'")]
    [InlineData("", "''")]
    public void Quote_OnlyWhenNeeded(string value, string expected)
    {
        Assert.Equal(expected, CompletionSource.Quote(value));
    }
}

public class CopyPlannerTests
{
    private static bool Drives(string name) => name is "TestDrive" or "Temp" or "C";

    [Fact]
    public void Plan_DestinationWithSandboxPrefix_CopiesIn()
    {
        var plan = CopyPlanner.Plan(["./src"], "web-1:/work", false, false, false, Drives);
        Assert.Equal(CopyDirection.ToSandbox, plan.Direction);
        Assert.Equal("web-1", plan.SandboxKey);
        Assert.Equal("/work", plan.Destination);
        Assert.Equal(["./src"], plan.Sources);
    }

    [Fact]
    public void Plan_SourceWithSandboxPrefix_CopiesOut()
    {
        var plan = CopyPlanner.Plan(["web-1:/work/a.txt", "web-1:/work/b.txt"], "./out", false, false, false, Drives);
        Assert.Equal(CopyDirection.FromSandbox, plan.Direction);
        Assert.Equal(["/work/a.txt", "/work/b.txt"], plan.Sources);
    }

    [Theory]
    [InlineData("TestDrive:/x")]
    [InlineData("C:/x")]
    [InlineData("C:\\x")]
    [InlineData("Temp:/x")]
    [InlineData("FileSystem::/x")]
    [InlineData("relative/x")]
    public void Plan_PowerShellDrivesAndLocalPaths_StayLocal(string local)
    {
        var plan = CopyPlanner.Plan([local], "/work", true, true, false, Drives);
        Assert.Null(plan.SandboxKey);
        Assert.Equal([local], plan.Sources);
    }

    [Fact]
    public void Plan_SandboxParameterWithDirection()
    {
        var plan = CopyPlanner.Plan(["/etc/os-release"], "./os", true, false, true, Drives);
        Assert.Equal(CopyDirection.FromSandbox, plan.Direction);
        Assert.Null(plan.SandboxKey);
    }

    [Theory]
    [InlineData(new[] { "a" }, "/work", false, false, false, "-Sandbox")]
    [InlineData(new[] { "a" }, "/work", true, false, false, "-ToSandbox")]
    [InlineData(new[] { "a" }, "/work", true, true, true, "-ToSandbox")]
    [InlineData(new[] { "a" }, "web-1:/work", true, false, false, "-Sandbox")]
    [InlineData(new[] { "web-1:/a" }, "web-2:/b", false, false, false, "-Destination")]
    [InlineData(new[] { "web-1:/a", "./b" }, "/x", false, false, false, "-Path")]
    [InlineData(new[] { "web-1:/a", "web-2:/b" }, "./x", false, false, false, "-Path")]
    [InlineData(new[] { "a" }, "web-1:/work", false, false, true, "-FromSandbox")]
    public void Plan_Contradictions_AreExplained(string[] sources, string destination, bool sandbox, bool to, bool from, string named)
    {
        var ex = Assert.Throws<SandboxException>(() => CopyPlanner.Plan(sources, destination, sandbox, to, from, Drives));
        Assert.Equal(SandboxErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains(named, ex.Message);
    }
}

public class ActionOutcomeTests
{
    [Fact]
    public void FailureOf_Success_IsNull()
    {
        Assert.Null(ActionOutcome.FailureOf(new SandboxActionResult { SandboxId = "x", Action = "Command", ExitCode = 0 }));
    }

    [Fact]
    public void FailureOf_NonZeroExit_IsSandboxActionFailedWithTailOfOutput()
    {
        var output = string.Join("\n", Enumerable.Range(1, 20).Select(i => $"line {i}"));
        var ex = ActionOutcome.FailureOf(new SandboxActionResult { SandboxId = "id", SandboxName = "web-1", Action = "Command", ExitCode = 3, Output = output })!;
        Assert.Equal("SandboxActionFailed", ex.ErrorId);
        Assert.Equal(SandboxErrorKind.ActionFailed, ex.Kind);
        Assert.Contains("exited with code 3", ex.Message);
        Assert.Contains("line 20", ex.Message);
        Assert.DoesNotContain("line 15\n", ex.Message.Replace("\r", ""));
        Assert.Equal("web-1", ex.Target);
    }

    [Fact]
    public void FailureOf_Timeout_IsSandboxActionTimeout()
    {
        var ex = ActionOutcome.FailureOf(new SandboxActionResult { SandboxId = "id", Action = "Exec", TimedOut = true, Stderr = "slow" })!;
        Assert.Equal("SandboxActionTimeout", ex.ErrorId);
        Assert.Equal(SandboxErrorKind.Timeout, ex.Kind);
    }
}

public class RecommendedActionTests
{
    [Fact]
    public void KnownIds_GetPowerShellPhrasing()
    {
        var ex = new SandboxException(SandboxErrorKind.NotFound, "SandboxNotFound", "gone") { RecommendedAction = "List sandboxes with 'sandboxps ls'." };
        Assert.Contains("Get-Sandbox", SandboxErrorTable.RecommendedActionFor(ex));
    }

    [Theory]
    [InlineData("Unauthorized")]
    [InlineData("CapacityReached")]
    [InlineData("SessionBusy")]
    [InlineData("SessionExited")]
    [InlineData("SessionNotFound")]
    [InlineData("PythonNotAvailable")]
    [InlineData("EditNoMatch")]
    [InlineData("EditAmbiguous")]
    [InlineData("RequestInProgress")]
    [InlineData("NotARegularFile")]
    [InlineData("SandboxServerUnreachable")]
    public void CoreAdviceThatNamesTheCli_HasAPowerShellPhrasing(string errorId)
    {
        // The core's fixes for server errors are worded for sandboxps; PowerShell must never show them.
        var core = SandboxErrors.RecommendedActionFor(errorId);
        var ex = new SandboxException(SandboxErrorKind.ActionFailed, errorId, "x") { RecommendedAction = core };
        var shown = SandboxErrorTable.RecommendedActionFor(ex);
        Assert.DoesNotContain("sandboxps ", shown);
        Assert.DoesNotContain(" --", shown);
    }

    [Fact]
    public void SpecErrors_AreWordedForPowerShell_TheFirstTime()
    {
        var ex = Assert.Throws<SandboxException>(() => NewSandboxRequestBuilder.Build(new NewSandboxParameters { Provider = SandboxProviderKind.Process, Cpus = 2 }));
        Assert.Equal(SandboxErrorIds.ProviderOptionNotSupported, ex.ErrorId);
        Assert.Equal("-Cpus", ex.Target);
        Assert.Contains("-Provider docker", SandboxErrorTable.RecommendedActionFor(ex));
        Assert.DoesNotContain("--", ex.Message + SandboxErrorTable.RecommendedActionFor(ex));
    }

    [Fact]
    public void OtherAdvice_IsKept()
    {
        var ex = new SandboxException(SandboxErrorKind.InvalidArgument, "EditNoMatch", "no match") { RecommendedAction = "View the file and pass the exact text." };
        Assert.Equal("View the file and pass the exact text.", SandboxErrorTable.RecommendedActionFor(ex));
    }
}
