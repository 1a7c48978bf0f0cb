using System.Xml.Linq;
using SandboxPS.HelpGen;

namespace SandboxPS.Tests;

public class HelpGenTests
{
    private const string Good = """
        # Get-Thing

        ## SYNOPSIS
        Gets things.

        ## DESCRIPTION
        First paragraph
        continues here.

        Second paragraph.

        ## EXAMPLES

        ### Example 1: All things
        ```powershell
        Get-Thing
        Get-Thing -Name a*
        ```
        Lists them.

        ## PARAMETERS

        ### -Name
        Names, with wildcards.

        ### -Id
        Ids.

        ## OUTPUTS

        ### SandboxPS.Core.Sandbox
        One per thing.

        ## NOTES
        A note.

        ## RELATED LINKS
        - New-Thing
        - [Docs](https://example.invalid/docs)
        """;

    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    private static CmdletMetadata Thing(bool shouldProcess = false, params ParameterMetadata[] parameters) =>
        new("Get", "Thing", "X.GetThingCommand", true, null, [], "ByName", shouldProcess, "Medium",
            [new OutputTypeMetadata("SandboxPS.Core.Sandbox", [])],
            parameters.Length > 0 ? parameters : [Param("Name", "ByName", position: 0, wildcards: true), Param("Id", "ById", mandatory: true, byName: true)]);

    private static ParameterMetadata Param(string name, string set, int? position = null, bool mandatory = false,
                                           bool byValue = false, bool byName = false, bool wildcards = false, string type = "System.String[]") =>
        new(name, type, type.Split('.').Last(), type.EndsWith("SwitchParameter"), type.EndsWith("[]"), false,
            name == "Id" ? ["SandboxId"] : [],
            [new ParameterSetMetadata(set, position, mandatory, byValue, byName, false, false, null)],
            wildcards, [], null, null, [], [], true);

    [Fact]
    public void Parse_WellFormedSource_ReadsEverySection()
    {
        var help = HelpSourceParser.Parse(Good, "Get-Thing.md");
        Assert.Equal("Get-Thing", help.Name);
        Assert.Equal("Gets things.", help.Synopsis);
        Assert.Equal(["First paragraph continues here.", "Second paragraph."], help.Description);
        var example = Assert.Single(help.Examples);
        Assert.Equal("All things", example.Title);
        Assert.Equal("Get-Thing\nGet-Thing -Name a*", example.Code);
        Assert.Equal(["Lists them."], example.Remarks);
        Assert.Equal(["Names, with wildcards."], help.Parameters["name"]);
        Assert.Equal(["One per thing."], help.Outputs["SandboxPS.Core.Sandbox"]);
        Assert.Equal(["A note."], help.Notes);
        Assert.Equal([("New-Thing", (string?)null), ("Docs", "https://example.invalid/docs")], help.RelatedLinks);
    }

    [Theory]
    [InlineData("## SYNOPSIS\nx", "must start with '# Verb-Noun'")]
    [InlineData("# A-B\n## SYNOPSYS\nx", "unknown section")]
    [InlineData("# A-B\n## PARAMETERS\n### Name\nx", "'### -Name'")]
    [InlineData("# A-B\n## PARAMETERS\n### -Name\nx\n### -Name\ny", "described twice")]
    [InlineData("# A-B\n## EXAMPLES\n### Example 1: t\ntext before code", "must follow")]
    [InlineData("# A-B\n## EXAMPLES\n### Example 1: t\n```\nA-B\n", "not closed")]
    [InlineData("# A-B\n## EXAMPLES\n### Example 1: t\n### Example 2: u\n```\nA-B\n```", "has no code block")]
    [InlineData("# A-B\n## DESCRIPTION\n```\ncode\n```", "belong in EXAMPLES")]
    public void Parse_MalformedSource_FailsWithFileLineAndReason(string text, string reason)
    {
        var ex = Assert.Throws<HelpSourceException>(() => HelpSourceParser.Parse(text, "A-B.md"));
        Assert.StartsWith("A-B.md(", ex.Message, StringComparison.Ordinal);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_CompleteHelp_HasNoProblems()
    {
        Assert.Empty(HelpValidator.Validate([Thing()], [HelpSourceParser.Parse(Good, "Get-Thing.md")]));
    }

    [Fact]
    public void Validate_UndocumentedParameter_IsReported()
    {
        var cmdlet = Thing(false, Param("Name", "ByName"), Param("Id", "ById"), Param("Label", "ByName"));
        var problems = HelpValidator.Validate([cmdlet], [HelpSourceParser.Parse(Good, "Get-Thing.md")]);
        Assert.Contains(problems, p => p.Contains("HG008") && p.Contains("-Label"));
    }

    [Fact]
    public void Validate_StaleParameterAndMissingCmdlet_AreReported()
    {
        var cmdlet = Thing(false, Param("Name", "ByName"));
        var other = Thing() with { Noun = "Other" };
        var problems = HelpValidator.Validate([cmdlet, other], [HelpSourceParser.Parse(Good, "Get-Thing.md")]);
        Assert.Contains(problems, p => p.Contains("HG009") && p.Contains("-Id"));
        Assert.Contains(problems, p => p.Contains("HG003") && p.Contains("Get-Other"));
    }

    [Fact]
    public void Validate_HelpForUnknownCmdlet_IsReported()
    {
        var problems = HelpValidator.Validate([], [HelpSourceParser.Parse(Good, "Get-Thing.md")]);
        Assert.Contains(problems, p => p.Contains("HG002"));
    }

    [Fact]
    public void Write_ProducesMamlWithSyntaxPerSetAndParameterDetails()
    {
        var help = HelpSourceParser.Parse(Good, "Get-Thing.md");
        var doc = MamlWriter.Write([Thing()], new Dictionary<string, CommandHelp> { ["Get-Thing"] = help });
        var command = Assert.Single(doc.Root!.Elements(Command + "command"));
        Assert.Equal("Get-Thing", command.Element(Command + "details")!.Element(Command + "name")!.Value);
        Assert.Equal("Gets things.", command.Element(Command + "details")!.Element(Maml + "description")!.Value);

        var syntax = command.Element(Command + "syntax")!.Elements(Command + "syntaxItem").ToList();
        Assert.Equal(2, syntax.Count);
        Assert.Equal(["Name"], syntax[0].Elements(Command + "parameter").Select(p => p.Element(Maml + "name")!.Value));

        var id = command.Element(Command + "parameters")!.Elements(Command + "parameter").Single(p => p.Element(Maml + "name")!.Value == "Id");
        Assert.Equal("true", id.Attribute("required")!.Value);
        Assert.Equal("True (ByPropertyName)", id.Attribute("pipelineInput")!.Value);
        Assert.Equal("SandboxId", id.Attribute("aliases")!.Value);
        Assert.Equal("Ids.", id.Element(Maml + "description")!.Value);

        var name = command.Element(Command + "parameters")!.Elements(Command + "parameter").Single(p => p.Element(Maml + "name")!.Value == "Name");
        Assert.Equal("0", name.Attribute("position")!.Value);
        Assert.Equal("true", name.Attribute("globbing")!.Value);

        Assert.Equal("Get-Thing\nGet-Thing -Name a*", command.Descendants(Dev + "code").Single().Value);
        Assert.Equal("SandboxPS.Core.Sandbox", command.Element(Command + "returnValues")!.Descendants(Maml + "name").First().Value);
        Assert.Equal("System.String[]", command.Element(Command + "inputTypes")!.Descendants(Maml + "name").First().Value);
    }

    [Fact]
    public void Write_ShouldProcessCmdlet_DocumentsWhatIfAndConfirm()
    {
        var help = HelpSourceParser.Parse(Good, "Get-Thing.md");
        var doc = MamlWriter.Write([Thing(shouldProcess: true)], new Dictionary<string, CommandHelp> { ["Get-Thing"] = help });
        var names = doc.Descendants(Command + "parameters").Elements(Command + "parameter").Select(p => p.Element(Maml + "name")!.Value).ToList();
        Assert.Contains("WhatIf", names);
        Assert.Contains("Confirm", names);
    }

    [Fact]
    public void Generate_RealAssemblyAndSources_WritesHelpForEveryCmdlet()
    {
        var output = Path.Combine(Path.GetTempPath(), $"sandboxps-help-{Guid.NewGuid():N}.xml");
        try
        {
            var result = HelpGenerator.Generate(TestPaths.CmdletAssembly, [TestPaths.SmaReference],
                Path.Combine(TestPaths.RepoRoot, "docs", "help"), output);
            Assert.Empty(result.Problems);
            var doc = XDocument.Load(output);
            Assert.Equal(result.CommandCount, doc.Root!.Elements(Command + "command").Count());
            Assert.Equal(CmdletContractTests.Cmdlets.Count, result.CommandCount);
        }
        finally
        {
            File.Delete(output);
        }
    }
}
