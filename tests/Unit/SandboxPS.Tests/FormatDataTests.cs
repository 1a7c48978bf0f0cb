using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using SandboxPS.HelpGen;

namespace SandboxPS.Tests;

/// <summary>Format and type data name real types and real members of the staged assemblies.</summary>
public sealed partial class FormatDataTests : IDisposable
{
    private readonly MetadataLoadContext _context =
        CmdletMetadataReader.CreateContext(TestPaths.CmdletAssembly, [TestPaths.SmaReference]);

    public void Dispose() => _context.Dispose();

    private static XDocument Load(string file) => XDocument.Load(Path.Combine(TestPaths.StagedModule, file));

    private Type? FindType(string fullName) =>
        Directory.EnumerateFiles(TestPaths.StagedBin, "SandboxPS*.dll")
            .Select(f => _context.LoadFromAssemblyPath(f).GetType(fullName))
            .FirstOrDefault(t => t is not null);

    private static bool HasMember(Type type, string name) =>
        type.GetProperty(name, BindingFlags.Public | BindingFlags.Instance) is not null;

    private static IReadOnlyCollection<string> ExtendedMembers(string typeName) =>
        Load("SandboxPS.Types.ps1xml").Descendants("Type")
            .Where(t => (string?)t.Element("Name") == typeName)
            .SelectMany(t => t.Descendants("Members").Elements().Select(m => (string)m.Element("Name")!))
            .ToList();

    [Fact]
    public void FormatFile_HasViewsForTheObjectsUsersSee()
    {
        var typeNames = Load("SandboxPS.Format.ps1xml").Descendants("TypeName").Select(t => t.Value).ToHashSet();
        Assert.Contains("SandboxPS.Core.Sandbox", typeNames);
        Assert.Contains("SandboxPS.Core.SandboxSession", typeNames);
        Assert.Contains("SandboxPS.Core.SandboxActionResult", typeNames);
        Assert.Contains("SandboxPS.Core.Runtimes.RuntimeConfig", typeNames);
    }

    [Fact]
    public void FormatViews_NameRealTypes()
    {
        foreach (var name in Load("SandboxPS.Format.ps1xml").Descendants("TypeName").Select(t => t.Value))
        {
            Assert.True(FindType(name) is not null, $"Format view names type {name}, which no staged assembly defines");
        }
    }

    [Fact]
    public void FormatViews_NameRealProperties()
    {
        var problems = new List<string>();
        foreach (var view in Load("SandboxPS.Format.ps1xml").Descendants("View"))
        {
            var typeName = view.Descendants("TypeName").Single().Value;
            var type = FindType(typeName);
            if (type is null)
            {
                problems.Add($"{typeName}: type not found");
                continue;
            }
            var extended = ExtendedMembers(typeName);
            var referenced = view.Descendants("PropertyName").Select(p => p.Value)
                .Concat(view.Descendants("ScriptBlock").SelectMany(s => DollarUnderMember().Matches(s.Value).Select(m => m.Groups[1].Value)));
            // In script blocks, $_ after a pipeline inside the block is another object (e.g. Labels entries).
            var ownBlocks = view.Descendants("ScriptBlock").Where(s => !s.Value.Contains('|')).SelectMany(s => DollarUnderMember().Matches(s.Value).Select(m => m.Groups[1].Value));
            foreach (var member in view.Descendants("PropertyName").Select(p => p.Value).Concat(ownBlocks).Distinct())
            {
                if (!HasMember(type, member) && !extended.Contains(member))
                {
                    problems.Add($"view '{(string?)view.Element("Name")}' uses {typeName}.{member}, which does not exist");
                }
            }
            Assert.NotEmpty(referenced);
        }
        Assert.Empty(problems);
    }

    [Fact]
    public void FormatViews_HaveUniqueNamesAndAControl()
    {
        var views = Load("SandboxPS.Format.ps1xml").Descendants("View").ToList();
        Assert.Equal(views.Count, views.Select(v => (string?)v.Element("Name")).Distinct().Count());
        Assert.All(views, v => Assert.True(v.Element("TableControl") is not null || v.Element("ListControl") is not null));
    }

    [Fact]
    public void TypeData_AliasesReferenceRealMembers()
    {
        foreach (var type in Load("SandboxPS.Types.ps1xml").Descendants("Type"))
        {
            var name = (string)type.Element("Name")!;
            var clr = FindType(name);
            Assert.True(clr is not null, $"Types.ps1xml extends {name}, which does not exist");
            foreach (var alias in type.Descendants("AliasProperty"))
            {
                var target = (string)alias.Element("ReferencedMemberName")!;
                Assert.True(HasMember(clr!, target), $"{name}.{alias.Element("Name")!.Value} aliases missing member {target}");
                Assert.False(HasMember(clr!, (string)alias.Element("Name")!), $"{name} already has a member {alias.Element("Name")!.Value}");
            }
        }
    }

    [GeneratedRegex(@"\$_\.(\w+)")]
    private static partial Regex DollarUnderMember();
}
