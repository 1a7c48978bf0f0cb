using System.Text.RegularExpressions;
using System.Xml.Linq;
using SandboxPS.HelpGen;

namespace SandboxPS.Tests;

/// <summary>
/// The cmdlet contract, checked on the built SandboxPS.dll of the staged module through
/// MetadataLoadContext (nothing is executed, so no PowerShell is needed): every cmdlet in the
/// assembly is exported and every export exists, names follow PowerShell's rules, parameter sets,
/// pipeline binding, mandatory flags, ShouldProcess and OutputType are what the design says.
/// </summary>
public class CmdletContractTests
{
    /// <summary>Approved verbs, from the "Approved Verbs for PowerShell Commands" page (Get-Verb).</summary>
    internal static readonly HashSet<string> ApprovedVerbs = new(StringComparer.Ordinal)
    {
        // Common
        "Add", "Clear", "Close", "Copy", "Enter", "Exit", "Find", "Format", "Get", "Hide", "Join", "Lock",
        "Move", "New", "Open", "Optimize", "Pop", "Push", "Redo", "Remove", "Rename", "Reset", "Resize",
        "Search", "Select", "Set", "Show", "Skip", "Split", "Step", "Switch", "Undo", "Unlock", "Watch",
        // Communications
        "Connect", "Disconnect", "Read", "Receive", "Send", "Write",
        // Data
        "Backup", "Checkpoint", "Compare", "Compress", "Convert", "ConvertFrom", "ConvertTo", "Dismount",
        "Edit", "Expand", "Export", "Group", "Import", "Initialize", "Limit", "Merge", "Mount", "Out",
        "Publish", "Restore", "Save", "Sync", "Unpublish", "Update",
        // Diagnostic
        "Debug", "Measure", "Ping", "Repair", "Resolve", "Test", "Trace",
        // Lifecycle
        "Approve", "Assert", "Build", "Complete", "Confirm", "Deny", "Deploy", "Disable", "Enable", "Install",
        "Invoke", "Register", "Request", "Restart", "Resume", "Start", "Stop", "Submit", "Suspend",
        "Uninstall", "Unregister", "Wait",
        // Security
        "Block", "Grant", "Protect", "Revoke", "Unblock", "Unprotect",
        // Other
        "Use",
    };

    /// <summary>Verbs of cmdlets that change something and so must support -WhatIf/-Confirm.</summary>
    private static readonly HashSet<string> StateChangingVerbs = new(StringComparer.Ordinal)
    {
        "New", "Remove", "Copy", "Invoke", "Set", "Clear", "Move", "Rename", "Reset", "Start", "Stop",
        "Restart", "Suspend", "Resume", "Install", "Uninstall", "Register", "Unregister", "Update", "Add",
    };

    /// <summary>Verbs that only read or wait and so must not ask for confirmation.</summary>
    private static readonly HashSet<string> ReadOnlyVerbs = new(StringComparer.Ordinal) { "Get", "Wait", "Test", "Find", "Search" };

    /// <summary>Parameter names that end in "s" on purpose.</summary>
    private static readonly HashSet<string> PluralExceptions = new(StringComparer.Ordinal) { "Cpus" };

    private static readonly Lazy<IReadOnlyList<CmdletMetadata>> LazyCmdlets =
        new(() => CmdletMetadataReader.Read(TestPaths.CmdletAssembly, [TestPaths.SmaReference]));

    internal static IReadOnlyList<CmdletMetadata> Cmdlets => LazyCmdlets.Value;

    internal static CmdletMetadata Cmdlet(string name) =>
        Cmdlets.SingleOrDefault(c => c.Name == name) ?? throw new Xunit.Sdk.XunitException($"{name} is not in SandboxPS.dll");

    public static TheoryData<string> ExportedNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in ManifestTests.ListValue(File.ReadAllText(TestPaths.ModuleSource("SandboxPS.psd1")), "CmdletsToExport"))
        {
            data.Add(name);
        }
        return data;
    }

    [Fact]
    public void Assembly_CmdletsEqualManifestExports()
    {
        var inAssembly = Cmdlets.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var exported = ManifestTests.ListValue(ManifestTests.StagedManifest, "CmdletsToExport").ToHashSet(StringComparer.Ordinal);
        var notExported = inAssembly.Except(exported).Order().ToList();
        var missing = exported.Except(inAssembly).Order().ToList();
        Assert.True(notExported.Count == 0 && missing.Count == 0,
            $"Cmdlets in SandboxPS.dll but not in CmdletsToExport: [{string.Join(", ", notExported)}]; " +
            $"exported but not in SandboxPS.dll: [{string.Join(", ", missing)}]");
    }

    [Theory]
    [MemberData(nameof(ExportedNames))]
    public void Cmdlet_UsesApprovedVerbAndSandboxNoun(string name)
    {
        var cmdlet = Cmdlet(name);
        Assert.Contains(cmdlet.Verb, ApprovedVerbs);
        Assert.StartsWith("Sandbox", cmdlet.Noun, StringComparison.Ordinal);
        Assert.Matches("^Sandbox[A-Z]?[a-z]*([A-Z][a-z]+)*$", cmdlet.Noun);
    }

    [Theory]
    [MemberData(nameof(ExportedNames))]
    public void Cmdlet_ClassFollowsConventions(string name)
    {
        var cmdlet = Cmdlet(name);
        Assert.Equal($"SandboxPS.Commands.{cmdlet.Verb}{cmdlet.Noun}Command", cmdlet.TypeName);
        Assert.True(cmdlet.IsSealed, $"{cmdlet.TypeName} must be sealed");
        Assert.Contains("SandboxPS.Commands.SandboxCmdletBase", cmdlet.BaseTypeChain);
        Assert.Contains("System.Management.Automation.PSCmdlet", cmdlet.BaseTypeChain);
    }

    [Theory]
    [MemberData(nameof(ExportedNames))]
    public void Cmdlet_DeclaresOutputTypesOfOurOwn(string name)
    {
        var cmdlet = Cmdlet(name);
        Assert.NotEmpty(cmdlet.OutputTypes);
        foreach (var output in cmdlet.OutputTypes)
        {
            Assert.StartsWith("SandboxPS.Core.", output.TypeName, StringComparison.Ordinal);
            Assert.All(output.ParameterSetNames, set => Assert.Contains(set, cmdlet.ParameterSetNames));
        }
    }

    [Theory]
    [MemberData(nameof(ExportedNames))]
    public void Cmdlet_SupportsShouldProcessWhenItChangesState(string name)
    {
        var cmdlet = Cmdlet(name);
        if (StateChangingVerbs.Contains(cmdlet.Verb))
        {
            Assert.True(cmdlet.SupportsShouldProcess, $"{name} changes state and must declare SupportsShouldProcess");
        }
        if (ReadOnlyVerbs.Contains(cmdlet.Verb))
        {
            Assert.False(cmdlet.SupportsShouldProcess, $"{name} only reads and must not ask for confirmation");
        }
        Assert.DoesNotContain(cmdlet.Parameters, p => p.Name is "WhatIf" or "Confirm");
    }

    [Theory]
    [MemberData(nameof(ExportedNames))]
    public void Cmdlet_ParameterSetsAreWellFormed(string name)
    {
        var cmdlet = Cmdlet(name);
        var sets = cmdlet.ParameterSetNames;
        if (sets.Count > 1)
        {
            Assert.False(cmdlet.DefaultParameterSetName is null, $"{name} has {sets.Count} parameter sets and no DefaultParameterSetName");
        }
        if (cmdlet.DefaultParameterSetName is { } def)
        {
            Assert.Contains(def, sets);
        }
        foreach (var set in sets)
        {
            var members = cmdlet.ParametersIn(set).ToList();
            var positions = members.Where(m => m.Set.Position is not null).Select(m => m.Set.Position!.Value).ToList();
            Assert.True(positions.Count == positions.Distinct().Count(), $"{name} set {set}: two parameters share a position");
            var byValue = members.Where(m => m.Set.ValueFromPipeline).Select(m => m.Parameter.Name).ToList();
            Assert.True(byValue.Count <= 1, $"{name} set {set}: more than one ValueFromPipeline parameter: {string.Join(", ", byValue)}");
            Assert.True(members.Count(m => m.Set.ValueFromRemainingArguments) <= 1);
        }
    }

    [Theory]
    [MemberData(nameof(ExportedNames))]
    public void Cmdlet_ParametersFollowConventions(string name)
    {
        var cmdlet = Cmdlet(name);
        foreach (var p in cmdlet.Parameters)
        {
            Assert.Matches("^[A-Z][A-Za-z0-9]*$", p.Name);
            Assert.True(!p.Name.EndsWith('s') || PluralExceptions.Contains(p.Name) || p.Name.EndsWith("ss", StringComparison.Ordinal),
                $"{name} -{p.Name}: parameter names are singular");
            Assert.True(p.TypeName != "System.Boolean", $"{name} -{p.Name}: use SwitchParameter, not bool");
            Assert.True(p.TypeName.StartsWith("System.", StringComparison.Ordinal) || p.TypeName.StartsWith("SandboxPS.Core.", StringComparison.Ordinal),
                $"{name} -{p.Name}: parameter type {p.TypeName} is neither BCL/SMA nor ours");
            Assert.True(p.CanWrite, $"{name} -{p.Name}: needs a public setter");
            Assert.Equal(p.Sets.Count, p.Sets.Select(s => s.SetName).Distinct().Count());
            if (p.Name == "TimeoutSec")
            {
                Assert.True(p.ValidateRange is not null, $"{name} -TimeoutSec needs [ValidateRange]");
            }
            if (p.IsSwitch)
            {
                Assert.All(p.Sets, s => Assert.Null(s.Position));
            }
        }
    }

    [Theory]
    [MemberData(nameof(ExportedNames))]
    public void Cmdlet_HasCompleteHelp(string name)
    {
        var cmdlet = Cmdlet(name);
        XNamespace command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
        XNamespace maml = "http://schemas.microsoft.com/maml/2004/10";
        XNamespace dev = "http://schemas.microsoft.com/maml/dev/2004/10";
        var doc = XDocument.Load(Path.Combine(TestPaths.StagedModule, "en-US", "SandboxPS.dll-Help.xml"));
        var entry = doc.Descendants(command + "command").SingleOrDefault(c => c.Element(command + "details")?.Element(command + "name")?.Value == name);
        Assert.True(entry is not null, $"{name} has no entry in SandboxPS.dll-Help.xml");
        Assert.False(string.IsNullOrWhiteSpace(entry!.Element(command + "details")!.Element(maml + "description")!.Value), "synopsis");
        Assert.False(string.IsNullOrWhiteSpace(entry.Element(maml + "description")!.Value), "description");
        var documented = entry.Element(command + "parameters")!.Elements(command + "parameter")
            .ToDictionary(p => p.Element(maml + "name")!.Value, p => p.Element(maml + "description")!.Value);
        foreach (var p in cmdlet.Parameters.Where(p => !p.Sets.All(s => s.DontShow)))
        {
            Assert.True(documented.TryGetValue(p.Name, out var text) && !string.IsNullOrWhiteSpace(text), $"{name} -{p.Name} has no help text");
        }
        var examples = entry.Descendants(command + "example").ToList();
        Assert.NotEmpty(examples);
        Assert.All(examples, e => Assert.Contains(name, e.Element(dev + "code")!.Value, StringComparison.OrdinalIgnoreCase));
        Assert.Equal(cmdlet.ParameterSetNames.Count, entry.Element(command + "syntax")!.Elements(command + "syntaxItem").Count());
    }
}
