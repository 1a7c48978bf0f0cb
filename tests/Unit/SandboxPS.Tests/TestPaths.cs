using System.Reflection;

namespace SandboxPS.Tests;

/// <summary>Where the staged module, the repository and the PowerShell reference assembly are.</summary>
internal static class TestPaths
{
    private static string Metadata(string key) =>
        typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"Assembly metadata {key} is missing.");

    /// <summary>ModuleVersion from Directory.Build.props.</summary>
    public static string ModuleVersion => Metadata("ModuleVersion");

    /// <summary>The repository root (with a trailing separator).</summary>
    public static string RepoRoot => Metadata("RepoRoot");

    /// <summary>System.Management.Automation.dll of PowerShellStandard.Library (reference only).</summary>
    public static string SmaReference => Metadata("SmaReferencePath");

    /// <summary>The module staged by this project's build (target StageModuleForTests).</summary>
    public static string StagedModule => Path.Combine(AppContext.BaseDirectory, "module", "SandboxPS", ModuleVersion);

    /// <summary>bin/ of the staged module.</summary>
    public static string StagedBin => Path.Combine(StagedModule, "bin");

    /// <summary>The staged cmdlet assembly.</summary>
    public static string CmdletAssembly => Path.Combine(StagedBin, "SandboxPS.dll");

    /// <summary>A file of the module sources (module/…).</summary>
    public static string ModuleSource(string file) => Path.Combine(RepoRoot, "module", file);
}
