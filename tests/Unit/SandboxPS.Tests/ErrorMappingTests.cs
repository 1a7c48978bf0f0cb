using System.Net.Http;
using SandboxPS.Core;
using SandboxPS.Core.Automation;
using SandboxPS.HelpGen;

namespace SandboxPS.Tests;

public class ErrorMappingTests
{
    [Fact]
    public void Table_CoversEveryErrorKind()
    {
        foreach (var kind in Enum.GetValues<SandboxErrorKind>())
        {
            Assert.True(SandboxErrorTable.All.ContainsKey(kind), $"{kind} has no ErrorCategory");
        }
    }

    [Fact]
    public void Table_UsesRealErrorCategoriesAndNeverNotSpecified()
    {
        // The names are checked against ErrorCategory of the System.Management.Automation reference itself.
        using var context = CmdletMetadataReader.CreateContext(TestPaths.SmaReference, []);
        var sma = context.LoadFromAssemblyPath(TestPaths.SmaReference);
        var categories = CmdletMetadataReader.EnumNames(sma.GetType("System.Management.Automation.ErrorCategory", throwOnError: true)!);
        var used = SandboxErrorTable.All.Values.Select(p => p.Category)
            .Concat(new[] { "PermissionDenied", "ResourceBusy", "QuotaExceeded", "ObjectNotFound" }.Select(id => SandboxErrorTable.CategoryFor(SandboxErrorKind.Internal, id)));
        foreach (var category in used)
        {
            Assert.Contains(category, categories);
            Assert.NotEqual("NotSpecified", category);
        }
    }

    [Fact]
    public void Table_ErrorIdsAreStablePascalCase()
    {
        foreach (var (kind, p) in SandboxErrorTable.All)
        {
            Assert.Matches("^[A-Z][A-Za-z]+$", p.DefaultErrorId);
        }
    }

    [Theory]
    [InlineData(SandboxErrorKind.NotFound, "ObjectNotFound")]
    [InlineData(SandboxErrorKind.AlreadyExists, "ResourceExists")]
    [InlineData(SandboxErrorKind.InvalidArgument, "InvalidArgument")]
    [InlineData(SandboxErrorKind.NotReady, "ResourceUnavailable")]
    [InlineData(SandboxErrorKind.Timeout, "OperationTimeout")]
    [InlineData(SandboxErrorKind.ProviderUnavailable, "ConnectionError")]
    [InlineData(SandboxErrorKind.Unauthorized, "AuthenticationError")]
    [InlineData(SandboxErrorKind.Conflict, "ResourceBusy")]
    [InlineData(SandboxErrorKind.QuotaExceeded, "QuotaExceeded")]
    [InlineData(SandboxErrorKind.ActionFailed, "InvalidResult")]
    [InlineData(SandboxErrorKind.NotSupported, "NotImplemented")]
    [InlineData(SandboxErrorKind.Internal, "InvalidOperation")]
    public void For_MapsKindToStyleGuideCategory(SandboxErrorKind kind, string category)
    {
        Assert.Equal(category, SandboxErrorTable.For(kind).Category);
    }

    [Fact]
    public void CategoryFor_PermissionDeniedOverridesUnauthorized()
    {
        Assert.Equal("PermissionDenied", SandboxErrorTable.CategoryFor(SandboxErrorKind.Unauthorized, "PermissionDenied"));
        Assert.Equal("AuthenticationError", SandboxErrorTable.CategoryFor(SandboxErrorKind.Unauthorized, "Unauthorized"));
    }

    [Fact]
    public void For_ProviderUnavailable_RecommendsCheckingDocker()
    {
        Assert.Contains("Docker", SandboxErrorTable.For(SandboxErrorKind.ProviderUnavailable).RecommendedAction);
    }

    [Fact]
    public void Classify_SandboxException_IsKeptAsIs()
    {
        var ex = new SandboxException(SandboxErrorKind.NotFound, "SandboxNotFound", "gone", "sbx-1");
        Assert.Same(ex, ErrorClassifier.Classify(ex, stopping: false));
        Assert.Same(ex, ErrorClassifier.Classify(new AggregateException(ex), stopping: false));
    }

    [Fact]
    public void Classify_CancellationWhileStopping_IsNotAnError()
    {
        Assert.Null(ErrorClassifier.Classify(new OperationCanceledException(), stopping: true));
        Assert.Null(ErrorClassifier.Classify(new TaskCanceledException(), stopping: true));
    }

    [Fact]
    public void Classify_CancellationWithoutStop_IsATimeoutKeepingTheCause()
    {
        var cause = new TaskCanceledException("HttpClient gave up");
        var ex = ErrorClassifier.Classify(cause, stopping: false)!;
        Assert.Equal(SandboxErrorKind.Timeout, ex.Kind);
        Assert.Equal("SandboxOperationTimeout", ex.ErrorId);
        Assert.Same(cause, ex.InnerException);
    }

    [Fact]
    public void Classify_TransportFailure_IsProviderUnavailable()
    {
        var ex = ErrorClassifier.Classify(new HttpRequestException("connection refused"), stopping: false)!;
        Assert.Equal(SandboxErrorKind.ProviderUnavailable, ex.Kind);
        Assert.Equal("SandboxServerUnreachable", ex.ErrorId);
    }

    [Fact]
    public void Classify_LocalFileProblems_HaveSpecificIds()
    {
        Assert.Equal("LocalPathNotFound", ErrorClassifier.Classify(new FileNotFoundException("no", "/x"), false)!.ErrorId);
        Assert.Equal("LocalPathNotFound", ErrorClassifier.Classify(new DirectoryNotFoundException("no"), false)!.ErrorId);
        Assert.Equal("PermissionDenied", ErrorClassifier.Classify(new UnauthorizedAccessException("no"), false)!.ErrorId);
    }

    [Fact]
    public void Classify_UnexpectedException_IsInternalWithTypeInMessage()
    {
        var ex = ErrorClassifier.Classify(new InvalidCastException("boom"), stopping: false)!;
        Assert.Equal(SandboxErrorKind.Internal, ex.Kind);
        Assert.Equal("SandboxInternalError", ex.ErrorId);
        Assert.Contains("InvalidCastException", ex.Message);
        Assert.IsType<InvalidCastException>(ex.InnerException);
    }

    [Fact]
    public void Classify_ArgumentException_IsInvalidArgumentNamingTheParameter()
    {
        var ex = ErrorClassifier.Classify(new ArgumentException("bad value", "Name"), stopping: false)!;
        Assert.Equal(SandboxErrorKind.InvalidArgument, ex.Kind);
        Assert.Equal("Name", ex.Target);
    }
}
