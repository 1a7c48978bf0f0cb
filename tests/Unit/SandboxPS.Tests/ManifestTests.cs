using System.Text.RegularExpressions;

namespace SandboxPS.Tests;

/// <summary>The module manifest, read as text (there is no PowerShell here to parse it).</summary>
public partial class ManifestTests
{
    internal static string StagedManifest => File.ReadAllText(Path.Combine(TestPaths.StagedModule, "SandboxPS.psd1"));

    /// <summary>The items of <c>Key = @( ... )</c> in a manifest, quoted strings only.</summary>
    internal static IReadOnlyList<string> ListValue(string manifest, string key)
    {
        var match = Regex.Match(manifest, $@"(?m)^\s*{key}\s*=\s*@\((?<items>[^)]*)\)");
        Assert.True(match.Success, $"{key} = @(...) not found in the manifest");
        return QuotedString().Matches(match.Groups["items"].Value).Select(m => m.Groups[1].Value).ToList();
    }

    internal static string ScalarValue(string manifest, string key)
    {
        var match = Regex.Match(manifest, $@"(?m)^\s*{key}\s*=\s*'(?<value>[^']*)'");
        Assert.True(match.Success, $"{key} = '...' not found in the manifest");
        return match.Groups["value"].Value;
    }

    [GeneratedRegex("'([^']*)'")]
    private static partial Regex QuotedString();

    [Fact]
    public void SourceManifest_HasVersionPlaceholder()
    {
        Assert.Equal("{{ModuleVersion}}", ScalarValue(File.ReadAllText(TestPaths.ModuleSource("SandboxPS.psd1")), "ModuleVersion"));
    }

    [Fact]
    public void StagedManifest_IsStampedWithModuleVersion()
    {
        Assert.Equal(TestPaths.ModuleVersion, ScalarValue(StagedManifest, "ModuleVersion"));
        Assert.DoesNotContain("{{", StagedManifest);
        Assert.Matches(@"^\d+\.\d+\.\d+$", TestPaths.ModuleVersion);
    }

    [Theory]
    [InlineData("CmdletsToExport")]
    [InlineData("FunctionsToExport")]
    [InlineData("VariablesToExport")]
    [InlineData("AliasesToExport")]
    public void ExportLists_AreExplicitWithoutWildcards(string key)
    {
        var items = ListValue(StagedManifest, key);
        Assert.DoesNotContain(items, i => i.Contains('*') || i.Contains('?'));
        Assert.Equal(items.Count, items.Distinct(StringComparer.OrdinalIgnoreCase).Count());
    }

    [Fact]
    public void OnlyCmdletsAreExported()
    {
        Assert.Empty(ListValue(StagedManifest, "FunctionsToExport"));
        Assert.Empty(ListValue(StagedManifest, "VariablesToExport"));
        Assert.Empty(ListValue(StagedManifest, "AliasesToExport"));
    }

    [Fact]
    public void Manifest_TargetsPowerShell74Core()
    {
        Assert.Equal("SandboxPS.psm1", ScalarValue(StagedManifest, "RootModule"));
        Assert.Equal("7.4", ScalarValue(StagedManifest, "PowerShellVersion"));
        Assert.Equal(["Core"], ListValue(StagedManifest, "CompatiblePSEditions"));
        Assert.True(Guid.TryParse(ScalarValue(StagedManifest, "GUID"), out _));
    }

    [Fact]
    public void Manifest_LeavesFormatAndTypeLoadingToThePsm1()
    {
        // The types live in the SandboxPS load context, which exists only after the psm1 ran (STYLE.md 4.7).
        Assert.DoesNotMatch(@"(?m)^\s*(FormatsToProcess|TypesToProcess|NestedModules|RequiredAssemblies)\s*=", StagedManifest);
        var psm1 = File.ReadAllText(TestPaths.ModuleSource("SandboxPS.psm1"));
        Assert.Contains("Update-FormatData", psm1);
        Assert.Contains("SandboxPS.Format.ps1xml", psm1);
        Assert.Contains("SandboxPS.Types.ps1xml", psm1);
        Assert.Contains("[SandboxPS.Loader.LoadContext]::Initialize('SandboxPS')", psm1);
    }
}
