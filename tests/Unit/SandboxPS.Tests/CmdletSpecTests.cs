using SandboxPS.HelpGen;

namespace SandboxPS.Tests;

/// <summary>
/// The designed shape of each cmdlet (issue 5, STYLE.md 4.3/4.4), checked against the built assembly:
/// parameter sets, the default set, mandatory parameters per set, pipeline binding, ShouldProcess,
/// ConfirmImpact and output types.
/// </summary>
public class CmdletSpecTests
{
    /// <summary>A parameter's expected binding: "V" by value, "N" by property name, "VN" both, "" none.</summary>
    public sealed record Spec(
        string Name,
        string? DefaultSet,
        string[] Sets,
        bool ShouldProcess,
        string ConfirmImpact,
        string[] Outputs,
        Dictionary<string, string[]> MandatoryBySet,
        Dictionary<string, string> Pipeline);

    private const string Sandbox = "SandboxPS.Core.Sandbox";
    private const string Result = "SandboxPS.Core.SandboxActionResult";
    private const string Session = "SandboxPS.Core.SandboxSession";

    internal static readonly Spec[] Specs =
    [
        new("New-Sandbox", null, ["__AllParameterSets"], true, "Low", [Sandbox],
            new() { ["__AllParameterSets"] = [] },
            new() { ["Name"] = "V" }),
        new("Get-Sandbox", "ByName", ["ByName", "ById", "BySession"], false, "Medium", [Sandbox],
            new() { ["ByName"] = [], ["ById"] = ["Id"], ["BySession"] = ["Session"] },
            new() { ["Name"] = "V", ["Id"] = "N", ["Session"] = "V" }),
        new("Wait-SandboxReady", "ByInputObject", ["ByInputObject", "ByName", "ById", "BySession"], false, "Medium", [Sandbox],
            new() { ["ByInputObject"] = ["InputObject"], ["ByName"] = ["Name"], ["ById"] = ["Id"], ["BySession"] = ["Session"] },
            new() { ["InputObject"] = "V", ["Id"] = "N", ["Session"] = "V" }),
        new("Invoke-SandboxAction", "Command", ["Command", "Exec", "Python", "ReadFile", "WriteFile", "Edit"], true, "Low", [Result],
            new()
            {
                ["Command"] = ["Sandbox", "Command"], ["Exec"] = ["Sandbox", "ArgumentList"], ["Python"] = ["Sandbox", "Python"],
                ["ReadFile"] = ["Sandbox", "ReadFile"], ["WriteFile"] = ["Sandbox", "WriteFile", "Content"],
                ["Edit"] = ["Sandbox", "Edit", "OldText", "NewText"],
            },
            new() { ["Sandbox"] = "V" }),
        new("New-SandboxSession", null, ["__AllParameterSets"], true, "Low", [Session],
            new() { ["__AllParameterSets"] = ["Sandbox"] },
            new() { ["Sandbox"] = "V" }),
        new("Get-SandboxSession", null, ["__AllParameterSets"], false, "Medium", [Session],
            new() { ["__AllParameterSets"] = ["Sandbox"] },
            new() { ["Sandbox"] = "V" }),
        new("Remove-SandboxSession", "ById", ["ById", "ByInputObject"], true, "Medium", [Session],
            new() { ["ById"] = ["Sandbox", "Id"], ["ByInputObject"] = ["InputObject"] },
            new() { ["InputObject"] = "V" }),
        new("Copy-SandboxItem", "Path", ["Path", "LiteralPath"], true, "Medium", [Result],
            new() { ["Path"] = ["Path", "Destination"], ["LiteralPath"] = ["LiteralPath", "Destination"] },
            new() { ["Path"] = "N", ["LiteralPath"] = "N", ["Sandbox"] = "N" }),
        new("Remove-Sandbox", "ByName", ["ByName", "ById", "ByInputObject", "Expired", "BySession"], true, "Medium", [Sandbox],
            new() { ["ByName"] = ["Name"], ["ById"] = ["Id"], ["ByInputObject"] = ["InputObject"], ["Expired"] = ["Expired"], ["BySession"] = ["Session"] },
            new() { ["InputObject"] = "V", ["Id"] = "N", ["Session"] = "V" }),
        new("Get-SandboxRuntime", "ByName", ["ByName", "ByPath"], false, "Medium", ["SandboxPS.Core.Runtimes.RuntimeConfig"],
            new() { ["ByName"] = [], ["ByPath"] = ["Path"] },
            new() { ["Path"] = "N" }),
    ];

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var spec in Specs)
        {
            data.Add(spec.Name);
        }
        return data;
    }

    private static (Spec Spec, CmdletMetadata Cmdlet) Get(string name) =>
        (Specs.Single(s => s.Name == name), CmdletContractTests.Cmdlet(name));

    [Fact]
    public void Specs_CoverEveryCmdletOfTheAssembly()
    {
        Assert.Equal(CmdletContractTests.Cmdlets.Select(c => c.Name).Order(),
                     Specs.Select(s => s.Name).Order());
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Cmdlet_HasTheDesignedParameterSets(string name)
    {
        var (spec, cmdlet) = Get(name);
        Assert.Equal(spec.Sets.Order(), cmdlet.ParameterSetNames.Order());
        Assert.Equal(spec.DefaultSet, cmdlet.DefaultParameterSetName);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Cmdlet_HasTheDesignedMandatoryParameters(string name)
    {
        var (spec, cmdlet) = Get(name);
        foreach (var (set, expected) in spec.MandatoryBySet)
        {
            var actual = cmdlet.ParametersIn(set).Where(x => x.Set.Mandatory).Select(x => x.Parameter.Name).Order();
            Assert.True(expected.Order().SequenceEqual(actual), $"{name} set {set}: mandatory [{string.Join(", ", actual)}], expected [{string.Join(", ", expected)}]");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Cmdlet_BindsThePipelineAsDesigned(string name)
    {
        var (spec, cmdlet) = Get(name);
        foreach (var p in cmdlet.Parameters)
        {
            var actual = (p.ValueFromPipeline ? "V" : "") + (p.ValueFromPipelineByPropertyName ? "N" : "");
            var expected = spec.Pipeline.GetValueOrDefault(p.Name, "");
            Assert.True(expected == actual, $"{name} -{p.Name}: pipeline binding '{actual}', expected '{expected}'");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Cmdlet_HasTheDesignedShouldProcessAndOutput(string name)
    {
        var (spec, cmdlet) = Get(name);
        Assert.Equal(spec.ShouldProcess, cmdlet.SupportsShouldProcess);
        if (spec.ShouldProcess)
        {
            Assert.Equal(spec.ConfirmImpact, cmdlet.ConfirmImpact);
        }
        Assert.Equal(spec.Outputs.Order(), cmdlet.OutputTypes.Select(o => o.TypeName).Distinct().Order());
    }

    [Theory]
    [InlineData("Get-Sandbox", "Id")]
    [InlineData("Wait-SandboxReady", "Id")]
    [InlineData("Remove-Sandbox", "Id")]
    [InlineData("Copy-SandboxItem", "Sandbox")]
    public void IdParameters_BindResultObjectsThroughSandboxIdAlias(string name, string parameter)
    {
        Assert.Contains("SandboxId", CmdletContractTests.Cmdlet(name).Parameter(parameter)!.Aliases);
    }

    [Theory]
    [InlineData("Get-Sandbox")]
    [InlineData("Wait-SandboxReady")]
    [InlineData("Remove-Sandbox")]
    public void NameParameters_AcceptWildcardsAtPositionZeroWithCompletion(string name)
    {
        var p = CmdletContractTests.Cmdlet(name).Parameter("Name")!;
        Assert.True(p.SupportsWildcards);
        Assert.Equal(0, p.Sets.Single().Position);
        Assert.Equal("SandboxPS.Commands.SandboxNameCompleter", p.CompleterTypeName);
    }

    [Theory]
    [InlineData("Invoke-SandboxAction")]
    [InlineData("New-SandboxSession")]
    [InlineData("Get-SandboxSession")]
    [InlineData("Remove-SandboxSession")]
    [InlineData("Copy-SandboxItem")]
    public void SandboxParameters_AcceptObjectsIdsAndNames(string name)
    {
        var p = CmdletContractTests.Cmdlet(name).Parameter("Sandbox")!;
        Assert.Equal("SandboxPS.Core.Automation.SandboxRef", p.TypeName);
        Assert.Contains("SandboxPS.Commands.SandboxRefTransformationAttribute", p.TransformationTypeNames);
        Assert.Equal("SandboxPS.Commands.SandboxNameCompleter", p.CompleterTypeName);
    }

    [Theory]
    [InlineData("New-Sandbox", "TimeToLive")]
    [InlineData("New-Sandbox", "IdleTimeout")]
    public void DurationParameters_ReadHumanDurations(string name, string parameter)
    {
        var p = CmdletContractTests.Cmdlet(name).Parameter(parameter)!;
        Assert.Equal("System.TimeSpan", p.TypeName);
        Assert.Contains("SandboxPS.Commands.DurationTransformationAttribute", p.TransformationTypeNames);
    }

    [Fact]
    public void ProviderParameters_AreEnumsWithEveryProvider()
    {
        foreach (var name in new[] { "New-Sandbox", "Get-Sandbox", "Remove-Sandbox" })
        {
            var p = CmdletContractTests.Cmdlet(name).Parameter("Provider")!;
            Assert.Equal(["Process", "Docker"], p.ValidValues);
        }
    }

    [Fact]
    public void CopySandboxItem_LiteralPathBindsPipedFilesByPSPath()
    {
        var p = CmdletContractTests.Cmdlet("Copy-SandboxItem").Parameter("LiteralPath")!;
        Assert.Contains("PSPath", p.Aliases);
    }

    [Fact]
    public void WaitSandboxReady_TimeoutSecHasWaitJobAlias()
    {
        Assert.Contains("Timeout", CmdletContractTests.Cmdlet("Wait-SandboxReady").Parameter("TimeoutSec")!.Aliases);
    }
}
