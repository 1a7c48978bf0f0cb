using System.Management.Automation;
using SandboxPS.Core;
using SandboxPS.Core.Automation;

namespace SandboxPS.Commands;

/// <summary>
/// The one place a <see cref="SandboxException"/> becomes an <see cref="ErrorRecord"/> (STYLE.md 4.5):
/// stable id, category from <see cref="SandboxErrorTable"/>, target object, recommended action.
/// </summary>
internal static class ErrorRecordFactory
{
    /// <summary>Builds the record; <paramref name="target"/> is the Sandbox when there is one, else the id or path.</summary>
    public static ErrorRecord Create(SandboxException exception, object? target)
    {
        var presentation = SandboxErrorTable.For(exception.Kind);
        var category = Enum.TryParse<ErrorCategory>(SandboxErrorTable.CategoryFor(exception.Kind, exception.ErrorId), out var parsed)
            ? parsed
            : ErrorCategory.InvalidOperation;
        var errorId = string.IsNullOrWhiteSpace(exception.ErrorId) ? presentation.DefaultErrorId : exception.ErrorId;
        var record = new ErrorRecord(exception, errorId, category, target ?? exception.Target);
        var recommended = SandboxErrorTable.RecommendedActionFor(exception);
        if (recommended is not null)
        {
            record.ErrorDetails = new ErrorDetails(exception.Message) { RecommendedAction = recommended };
        }
        return record;
    }

    /// <summary>Builds the record for any exception (classified first; cancellation counts as a timeout here).</summary>
    public static ErrorRecord Create(Exception exception, object? target) =>
        Create(ErrorClassifier.Classify(exception, stopping: false)!, target);
}
