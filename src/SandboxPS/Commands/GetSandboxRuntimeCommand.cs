using System.Management.Automation;
using SandboxPS.Core;
using SandboxPS.Core.Automation;
using SandboxPS.Core.Runtimes;

namespace SandboxPS.Commands;

/// <summary>Lists the built-in runtimes, or reads and validates a runtime file (docs/help/Get-SandboxRuntime.md).</summary>
[Cmdlet(VerbsCommon.Get, "SandboxRuntime", DefaultParameterSetName = ByName)]
[OutputType(typeof(RuntimeConfig))]
public sealed class GetSandboxRuntimeCommand : SandboxCmdletBase
{
    private const string ByName = "ByName";
    private const string ByPath = "ByPath";

    /// <summary>Runtime names, with wildcards.</summary>
    [Parameter(Position = 0, ParameterSetName = ByName)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(RuntimeNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>A runtime file (.yaml, .yml, .json) or a directory with a Dockerfile.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ByPath)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <inheritdoc />
    protected override async Task ProcessRecordAsync(CancellationToken cancellationToken)
    {
        if (ParameterSetName == ByPath)
        {
            var full = await ResolveLocalPathAsync(Path, nameof(Path)).ConfigureAwait(false);
            if (!File.Exists(full) && !Directory.Exists(full))
            {
                throw new SandboxException(SandboxErrorKind.NotFound, "LocalPathNotFound", $"Cannot find path '{full}' because it does not exist.", full);
            }
            Emit(RuntimeCatalog.Resolve(full));
            return;
        }
        var patterns = Name?.Select(WildcardMatcher.Create).ToList();
        var matched = new HashSet<string>(StringComparer.Ordinal);
        foreach (var runtime in RuntimeCatalog.BuiltIn)
        {
            var hits = patterns?.Where(p => p.IsMatch(runtime.Name)).ToList();
            if (hits is null || hits.Count > 0)
            {
                hits?.ForEach(h => matched.Add(h.Pattern));
                Emit(runtime);
            }
        }
        foreach (var missing in patterns?.Where(p => !p.HasWildcards && !matched.Contains(p.Pattern)) ?? [])
        {
            EmitError(new SandboxException(SandboxErrorKind.NotFound, "RuntimeNotFound",
                $"There is no built-in runtime '{WildcardMatcher.Unescape(missing.Pattern)}'. Built-in runtimes: {string.Join(", ", RuntimeCatalog.BuiltIn.Select(r => r.Name))}.",
                missing.Pattern), missing.Pattern);
        }
    }
}
