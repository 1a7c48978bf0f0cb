using System.Net.Http;
using System.Net.Sockets;

namespace SandboxPS.Core.Automation;

/// <summary>
/// Turns any exception that reaches a cmdlet into a <see cref="SandboxException"/>, so every error
/// the user sees has a stable id and a category (never a raw .NET failure, never "NotSpecified").
/// </summary>
internal static class ErrorClassifier
{
    /// <summary>
    /// The <see cref="SandboxException"/> to report for <paramref name="exception"/>, or null when it is
    /// the cancellation the user asked for (<paramref name="stopping"/>): that is not an error.
    /// </summary>
    public static SandboxException? Classify(Exception exception, bool stopping)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var ex = Unwrap(exception);
        switch (ex)
        {
            case SandboxException sandbox:
                return sandbox;
            case OperationCanceledException when stopping:
                return null;
            case OperationCanceledException or TimeoutException:
                return new SandboxException(SandboxErrorKind.Timeout, "SandboxOperationTimeout",
                    $"The operation did not complete in time: {ex.Message}", innerException: ex);
        }
        if (ex.GetType().FullName == "Polly.Timeout.TimeoutRejectedException")
        {
            return new SandboxException(SandboxErrorKind.Timeout, "SandboxOperationTimeout",
                $"The operation did not complete in time: {ex.Message}", innerException: ex);
        }
        return ex switch
        {
            HttpRequestException or SocketException => new SandboxException(SandboxErrorKind.ProviderUnavailable,
                "SandboxServerUnreachable", $"The sandbox server could not be reached: {ex.Message}", innerException: ex),
            UnauthorizedAccessException => new SandboxException(SandboxErrorKind.Unauthorized, "PermissionDenied",
                ex.Message, innerException: ex),
            FileNotFoundException fnf => new SandboxException(SandboxErrorKind.NotFound, "LocalPathNotFound",
                ex.Message, fnf.FileName, ex),
            DirectoryNotFoundException => new SandboxException(SandboxErrorKind.NotFound, "LocalPathNotFound",
                ex.Message, innerException: ex),
            ArgumentException arg => new SandboxException(SandboxErrorKind.InvalidArgument, "InvalidSandboxArgument",
                arg.Message, arg.ParamName, ex),
            NotSupportedException or PlatformNotSupportedException => new SandboxException(SandboxErrorKind.NotSupported,
                "ProviderFeatureNotSupported", ex.Message, innerException: ex),
            _ => new SandboxException(SandboxErrorKind.Internal, SandboxErrorTable.InternalErrorId,
                $"Unexpected {ex.GetType().Name}: {ex.Message}", innerException: ex),
        };
    }

    private static Exception Unwrap(Exception ex)
    {
        while (ex is AggregateException { InnerExceptions.Count: 1 } agg)
        {
            ex = agg.InnerExceptions[0];
        }
        return ex;
    }
}
