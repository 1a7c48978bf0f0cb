namespace SandboxPS.Tests;

/// <summary>
/// The PowerShell-side files that cannot run here (no pwsh) are at least complete: one Pester file per
/// exported cmdlet, each importing the staged module through common.ps1; every example cleans up and
/// shows -WhatIf; build.ps1 accepts what scripts/test.sh passes.
/// </summary>
public class PowerShellAssetsTests
{
    private static string Repo(string relative) => Path.Combine(TestPaths.RepoRoot, relative);

    public static TheoryData<string> ExportedNames() => CmdletContractTests.ExportedNames();

    [Theory]
    [MemberData(nameof(ExportedNames))]
    public void EveryCmdlet_HasAPesterFile(string name)
    {
        var path = Repo($"tests/Pester/{name}.Tests.ps1");
        Assert.True(File.Exists(path), $"{path} is missing");
        var text = File.ReadAllText(path);
        Assert.Contains(". $PSScriptRoot/common.ps1", text);
        Assert.Contains($"Describe '{name}", text);
    }

    [Fact]
    public void PesterCommon_ImportsTheStagedModuleNeverSources()
    {
        var text = File.ReadAllText(Repo("tests/Pester/common.ps1"));
        Assert.Contains("out/SandboxPS/", text);
        Assert.Contains("SANDBOXPS_TEST_MODULE", text);
        Assert.DoesNotContain("src/SandboxPS", text);
        Assert.Contains("org.sandboxps.test", text);
    }

    [Fact]
    public void ModuleTests_CoverManifestFormatsIsolationAndErrorIds()
    {
        var text = File.ReadAllText(Repo("tests/Pester/Module.Tests.ps1"));
        Assert.Contains("Test-ModuleManifest", text);
        Assert.Contains("GetLoadContext", text);
        Assert.Contains("Get-FormatData", text);
        Assert.Contains("-ErrorId 'SandboxNotFound,SandboxPS.Commands.GetSandboxCommand'", text);
        Assert.Contains("-Tag 'Docker' -Skip:(-not $DockerAvailable)", text);
    }

    [Theory]
    [InlineData("examples/01-first-sandbox.ps1")]
    [InlineData("examples/02-fanout-parallel.ps1")]
    [InlineData("examples/03-azure-devops/run-tests-in-sandboxes.ps1")]
    [InlineData("examples/04-keyed-reuse.ps1")]
    public void Examples_CleanUpInFinallyAndShowWhatIf(string relative)
    {
        var text = File.ReadAllText(Repo(relative));
        Assert.Contains("finally", text);
        Assert.Contains("Remove-Sandbox", text);
        Assert.Contains("-WhatIf", text);
        Assert.Contains("#Requires -Version 7.4", text);
    }

    [Fact]
    public void FanOutExample_UsesForEachObjectParallelOverTenSandboxes()
    {
        var text = File.ReadAllText(Repo("examples/02-fanout-parallel.ps1"));
        Assert.Contains("ForEach-Object -ThrottleLimit $ThrottleLimit -Parallel", text);
        Assert.Contains("[int] $Count = 10", text);
    }

    [Fact]
    public void AzureDevOpsPipeline_RunsTheScriptAndAlwaysCleansUp()
    {
        var yaml = File.ReadAllText(Repo("examples/03-azure-devops/azure-pipelines.yml"));
        Assert.Contains("filePath: examples/03-azure-devops/run-tests-in-sandboxes.ps1", yaml);
        Assert.Contains("condition: always()", yaml);
        Assert.Contains("Remove-Sandbox", yaml);
        Assert.DoesNotContain("\t", yaml);
    }
}
