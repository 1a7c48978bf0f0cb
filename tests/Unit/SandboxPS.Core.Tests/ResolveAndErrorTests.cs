using SandboxPS.Core;
using SandboxPS.Protocol;

namespace SandboxPS.Core.Tests;

public class ResolveTests
{
    private static Sandbox Make(string id, string name, string provider = "process") =>
        new(id, name, provider, SandboxState.Ready, "http://127.0.0.1:1", null, null, new Dictionary<string, string>(), DateTimeOffset.UtcNow, null);

    private static readonly Sandbox[] All =
    [
        Make("aaaa1111bbbb2222", "alpha"),
        Make("aaaa1111cccc3333", "beta"),
        Make("dddd4444eeee5555", "aaaa1111cccc3333x"),
        Make("ffff6666", "alpha", "docker"),
        Make("12345678", "dddd"),
    ];

    [Fact]
    public void Pick_ExactId_Wins() => Assert.Equal("beta", SandboxManager.Pick(All, "aaaa1111cccc3333").Name);

    [Fact]
    public void Pick_ExactNameBeforePrefix() => Assert.Equal("12345678", SandboxManager.Pick(All, "dddd").Id);

    [Fact]
    public void Pick_UniquePrefix() => Assert.Equal("aaaa1111bbbb2222", SandboxManager.Pick(All, "aaaa1111b").Id);

    [Fact]
    public void Pick_AmbiguousPrefix_ListsTheMatches()
    {
        var ex = Assert.Throws<SandboxException>(() => SandboxManager.Pick(All, "aaaa"));
        Assert.Equal(SandboxErrorIds.SandboxAmbiguous, ex.ErrorId);
        Assert.Contains("alpha", ex.Message);
        Assert.Contains("beta", ex.Message);
    }

    [Fact]
    public void Pick_SameNameOnTwoProviders_IsAmbiguous()
    {
        var ex = Assert.Throws<SandboxException>(() => SandboxManager.Pick(All, "alpha"));
        Assert.Equal(SandboxErrorIds.SandboxAmbiguous, ex.ErrorId);
        Assert.Contains("docker", ex.Message);
    }

    [Fact]
    public void Pick_Nothing_IsNotFoundAndMentionsUnsearchedProviders()
    {
        var ex = Assert.Throws<SandboxException>(() => SandboxManager.Pick(All, "zzz", ["docker: engine down"]));
        Assert.Equal(SandboxErrorIds.SandboxNotFound, ex.ErrorId);
        Assert.Equal(SandboxErrorKind.NotFound, ex.Kind);
        Assert.Contains("docker: engine down", ex.Message);
    }

    [Fact]
    public void GetProvider_Unknown_ListsValidNames()
    {
        var manager = new SandboxManager([new Providers.Process.ProcessSandboxProvider(Path.GetTempPath())]);
        var ex = Assert.Throws<SandboxException>(() => manager.GetProvider("dokcer"));
        Assert.Equal(SandboxErrorIds.UnknownProvider, ex.ErrorId);
        Assert.Contains("process", ex.Message);
        Assert.Equal(["process"], manager.ProviderNames);
    }
}

public class ErrorMappingTests
{
    [Theory]
    [InlineData(400, SandboxErrorKind.InvalidArgument)]
    [InlineData(401, SandboxErrorKind.Unauthorized)]
    [InlineData(404, SandboxErrorKind.NotFound)]
    [InlineData(409, SandboxErrorKind.Conflict)]
    [InlineData(429, SandboxErrorKind.QuotaExceeded)]
    [InlineData(500, SandboxErrorKind.Internal)]
    [InlineData(503, SandboxErrorKind.ProviderUnavailable)]
    public void FromProblem_KindFollowsStatus(int status, SandboxErrorKind kind)
    {
        var ex = SandboxErrors.FromProblem(status, new ProblemDetails { Title = "t", Status = status, Detail = "the detail", ErrorId = "SomeId" });
        Assert.Equal(kind, ex.Kind);
        Assert.Equal("SomeId", ex.ErrorId);
        Assert.Equal("the detail", ex.Message);
    }

    [Fact]
    public void FromProblem_KnownIdsCarryARecommendedAction()
    {
        var ex = SandboxErrors.FromProblem(429, new ProblemDetails { Title = "full", ErrorId = ErrorIds.CapacityReached });
        Assert.Equal("full", ex.Message);
        Assert.Contains("--max-sessions", ex.RecommendedAction);
        Assert.NotNull(SandboxErrors.FromProblem(400, new ProblemDetails { Title = "x", ErrorId = ErrorIds.EditNoMatch }).RecommendedAction);
    }

    [Fact]
    public void FromProblem_WithoutProblemBody_UsesStatusNameAndRawText()
    {
        var ex = SandboxErrors.FromProblem(502, null, "<html>bad gateway</html>", "sbx");
        Assert.Equal("HttpBadGateway", ex.ErrorId);
        Assert.Contains("bad gateway", ex.Message);
        Assert.Equal("sbx", ex.Target);
    }
}
