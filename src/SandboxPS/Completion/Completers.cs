using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Runtime.CompilerServices;
using SandboxPS.Core;
using SandboxPS.Core.Automation;
using SandboxPS.Core.Runtimes;


namespace SandboxPS.Commands;

/// <summary>Shared plumbing: CompletionSource results as CompletionResults.</summary>
internal static class CompletionResults
{
    public static IEnumerable<CompletionResult> From(IEnumerable<CompletionCandidate> candidates) =>
        candidates.Select(c => new CompletionResult(c.CompletionText, c.ListItemText, CompletionResultType.ParameterValue, c.ToolTip));
}

/// <summary>Completes sandbox names from every available provider (bounded to about 2 s; nothing on failure).</summary>
public sealed class SandboxNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
                                                          CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompletionResults.From(CompletionSource.Complete(Names, wordToComplete));

    private static async IAsyncEnumerable<(string, string)> Names([EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var sandbox in SandboxManager.Default.ListAsync(null, null, (_, _) => { }, ct).ConfigureAwait(false))
        {
            yield return (sandbox.Name, $"{sandbox.Name} ({sandbox.Provider}, {sandbox.State}, {sandbox.Id})");
        }
    }
}

/// <summary>Completes built-in runtime names.</summary>
public sealed class RuntimeNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
                                                          CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompletionResults.From(CompletionSource.Complete(Names, wordToComplete));

    private static async IAsyncEnumerable<(string, string)> Names([EnumeratorCancellation] CancellationToken ct)
    {
        await Task.Yield();
        foreach (var runtime in RuntimeCatalog.BuiltIn)
        {
            ct.ThrowIfCancellationRequested();
            yield return (runtime.Name, runtime.Description ?? runtime.Name);
        }
    }
}

/// <summary>Completes session ids of the sandbox already given in -Sandbox (bounded; nothing on failure).</summary>
public sealed class SessionIdCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
                                                          CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        if (fakeBoundParameters is null || !fakeBoundParameters.Contains("Sandbox"))
        {
            return [];
        }
        SandboxRef target;
        try
        {
            target = SandboxRef.FromObject(fakeBoundParameters["Sandbox"] is PSObject ps ? ps.BaseObject : fakeBoundParameters["Sandbox"]);
        }
        catch (SandboxException)
        {
            return [];
        }
        return CompletionResults.From(CompletionSource.Complete(ct => Sessions(target, ct), wordToComplete));
    }

    private static async IAsyncEnumerable<(string, string)> Sessions(SandboxRef target, [EnumeratorCancellation] CancellationToken ct)
    {
        var manager = SandboxManager.Default;
        var sandbox = await target.ResolveAsync((key, c) => manager.ResolveAsync(key, null, c), ct).ConfigureAwait(false);
        var client = await manager.GetClientAsync(sandbox, ct).ConfigureAwait(false);
        foreach (var session in await client.ListSessionsAsync(ct).ConfigureAwait(false))
        {
            yield return (session.Id, $"{session.Id} ({session.Kind}{(session.Busy ? ", busy" : "")})");
        }
    }
}
