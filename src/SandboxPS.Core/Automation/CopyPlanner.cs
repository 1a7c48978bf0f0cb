using System.Text.RegularExpressions;

namespace SandboxPS.Core.Automation;

/// <summary>Which way Copy-SandboxItem copies.</summary>
internal enum CopyDirection
{
    /// <summary>Local files into the sandbox.</summary>
    ToSandbox,
    /// <summary>Sandbox files to the local machine.</summary>
    FromSandbox,
}

/// <summary>
/// A decided copy: direction, the sandbox (by the <c>-Sandbox</c> parameter or a <c>NAME:/path</c> prefix),
/// the sources as given (local sources still to be resolved by PowerShell), and the destination.
/// </summary>
internal sealed record CopyPlan(CopyDirection Direction, string? SandboxKey, IReadOnlyList<string> Sources, string Destination);

/// <summary>
/// Decides Copy-SandboxItem's direction from <c>-ToSandbox</c> / <c>-FromSandbox</c> or from
/// <c>SANDBOX:/path</c> syntax (like <c>docker cp</c>), without confusing it with PowerShell drives
/// (<c>C:\x</c>, <c>TestDrive:/x</c>, <c>Temp:/x</c>).
/// </summary>
internal static partial class CopyPlanner
{
    /// <summary>Decides the plan.</summary>
    /// <param name="sources">-Path or -LiteralPath values.</param>
    /// <param name="destination">-Destination.</param>
    /// <param name="sandboxGiven">True when -Sandbox was bound.</param>
    /// <param name="toSandbox">-ToSandbox.</param>
    /// <param name="fromSandbox">-FromSandbox.</param>
    /// <param name="isLocalDrive">True for names of PowerShell drives (so <c>Temp:/x</c> stays local).</param>
    /// <exception cref="SandboxException">InvalidArgument explaining how to say what was meant.</exception>
    public static CopyPlan Plan(IReadOnlyList<string> sources, string destination, bool sandboxGiven, bool toSandbox,
                                bool fromSandbox, Func<string, bool> isLocalDrive)
    {
        if (sources.Count == 0 || sources.Any(string.IsNullOrWhiteSpace))
        {
            throw ParameterConversion.Invalid("Path", "is empty", "Pass the file or directory to copy.");
        }
        if (string.IsNullOrWhiteSpace(destination))
        {
            throw ParameterConversion.Invalid("Destination", "is empty", "Pass where the copy goes.");
        }
        if (toSandbox && fromSandbox)
        {
            throw ParameterConversion.Invalid("ToSandbox", "and -FromSandbox exclude each other", "Pass one direction.");
        }
        var destRemote = TrySplit(destination, isLocalDrive);
        var sourceRemote = sources.Select(s => TrySplit(s, isLocalDrive)).ToList();
        var remoteSources = sourceRemote.Count(s => s is not null);
        if (remoteSources > 0 && remoteSources < sources.Count)
        {
            throw ParameterConversion.Invalid("Path", "mixes sandbox paths (NAME:/path) and local paths",
                "Copy in one direction per call.");
        }
        if (destRemote is not null && remoteSources > 0)
        {
            throw ParameterConversion.Invalid("Destination", "and -Path both name sandboxes",
                "Copy between sandboxes through a local folder, one direction per call.");
        }

        if (destRemote is not null || remoteSources > 0)
        {
            if (sandboxGiven)
            {
                throw ParameterConversion.Invalid("Sandbox", "is given and a path names a sandbox (NAME:/path) too",
                    "Use either -Sandbox with -ToSandbox/-FromSandbox, or the NAME:/path form.");
            }
            if (destRemote is { } d)
            {
                if (fromSandbox)
                {
                    throw ParameterConversion.Invalid("FromSandbox", $"contradicts the destination '{destination}', which names a sandbox");
                }
                return new CopyPlan(CopyDirection.ToSandbox, d.Sandbox, sources, d.Path);
            }
            if (toSandbox)
            {
                throw ParameterConversion.Invalid("ToSandbox", "contradicts the source, which names a sandbox");
            }
            var names = sourceRemote.Select(s => s!.Value.Sandbox).Distinct(StringComparer.Ordinal).ToList();
            if (names.Count > 1)
            {
                throw ParameterConversion.Invalid("Path", $"names {names.Count} sandboxes ({string.Join(", ", names)})", "Copy from one sandbox per call.");
            }
            return new CopyPlan(CopyDirection.FromSandbox, names[0], sourceRemote.Select(s => s!.Value.Path).ToList(), destination);
        }

        if (!sandboxGiven)
        {
            throw ParameterConversion.Invalid("Sandbox", "is missing",
                "Pass -Sandbox with -ToSandbox or -FromSandbox, or write the sandbox side as NAME:/path (e.g. web-1:/work).");
        }
        if (!toSandbox && !fromSandbox)
        {
            throw ParameterConversion.Invalid("ToSandbox", "or -FromSandbox is required with -Sandbox", "Say which way to copy.");
        }
        return new CopyPlan(toSandbox ? CopyDirection.ToSandbox : CopyDirection.FromSandbox, null, sources, destination);
    }

    /// <summary>
    /// <c>web-1:/work/x</c> to (<c>web-1</c>, <c>/work/x</c>); null for local paths: no colon, a one-letter
    /// drive, a PowerShell drive, a provider-qualified path (<c>FileSystem::</c>) or a URL-like form.
    /// </summary>
    internal static (string Sandbox, string Path)? TrySplit(string value, Func<string, bool> isLocalDrive)
    {
        var match = SandboxPath().Match(value);
        if (!match.Success)
        {
            return null;
        }
        var name = match.Groups["name"].Value;
        if (isLocalDrive(name))
        {
            return null;
        }
        return (name, match.Groups["path"].Value);
    }

    // Two or more name characters (so C:\ and C:/ stay local), a single colon, then an absolute path.
    [GeneratedRegex(@"^(?<name>[A-Za-z0-9][A-Za-z0-9_.-]{1,62}):(?<path>/(?!/).*|/)$")]
    private static partial Regex SandboxPath();
}
