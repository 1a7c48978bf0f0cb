namespace SandboxPS.Tests;

/// <summary>The staged module (same MSBuild target as `dotnet publish src/SandboxPS`) has the right files.</summary>
public class StagedModuleLayoutTests
{
    [Theory]
    [InlineData("SandboxPS.psd1")]
    [InlineData("SandboxPS.psm1")]
    [InlineData("SandboxPS.Format.ps1xml")]
    [InlineData("SandboxPS.Types.ps1xml")]
    [InlineData("en-US/SandboxPS.dll-Help.xml")]
    [InlineData("bin/SandboxPS.dll")]
    [InlineData("bin/SandboxPS.Core.dll")]
    [InlineData("bin/SandboxPS.Protocol.dll")]
    [InlineData("bin/SandboxPS.Loader.dll")]
    [InlineData("bin/Polly.Core.dll")]
    [InlineData("bin/sandboxps-server")]
    public void StagedModule_ContainsFile(string relativePath)
    {
        Assert.True(File.Exists(Path.Combine(TestPaths.StagedModule, relativePath)),
            $"{relativePath} is missing from {TestPaths.StagedModule}");
    }

    [Fact]
    public void StagedBin_HasNoPowerShellAssemblies()
    {
        var forbidden = Directory.EnumerateFiles(TestPaths.StagedBin)
            .Select(Path.GetFileName)
            .Where(n => n!.StartsWith("System.Management.Automation", StringComparison.OrdinalIgnoreCase)
                        || n.StartsWith("Microsoft.PowerShell.", StringComparison.OrdinalIgnoreCase))
            .ToList();
        Assert.Empty(forbidden);
    }

    [Fact]
    public void StagedBin_HasNoNewtonsoft()
    {
        Assert.DoesNotContain(Directory.EnumerateFiles(TestPaths.StagedBin),
            f => Path.GetFileName(f).StartsWith("Newtonsoft", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void StagedServer_IsExecutable()
    {
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(Path.Combine(TestPaths.StagedBin, "sandboxps-server"));
            Assert.True(mode.HasFlag(UnixFileMode.UserExecute), $"sandboxps-server mode is {mode}");
        }
    }

    [Fact]
    public void StagedModuleAssets_AreCopiedVerbatim()
    {
        foreach (var file in new[] { "SandboxPS.psm1", "SandboxPS.Format.ps1xml", "SandboxPS.Types.ps1xml" })
        {
            Assert.Equal(File.ReadAllText(TestPaths.ModuleSource(file)), File.ReadAllText(Path.Combine(TestPaths.StagedModule, file)));
        }
    }

    [Fact]
    public void StagedModule_IsInAVersionFolder()
    {
        Assert.Equal(TestPaths.ModuleVersion, new DirectoryInfo(TestPaths.StagedModule).Name);
        Assert.Equal("SandboxPS", new DirectoryInfo(TestPaths.StagedModule).Parent!.Name);
    }
}
