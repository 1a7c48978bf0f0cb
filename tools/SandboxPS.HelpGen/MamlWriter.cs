using System.Xml.Linq;

namespace SandboxPS.HelpGen;

/// <summary>Writes PowerShell MAML help (<c>&lt;Assembly&gt;.dll-Help.xml</c>) from cmdlet metadata and help text.</summary>
public static class MamlWriter
{
    private static readonly XNamespace Msh = "http://msh";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    private static readonly (string Name, string Description)[] ShouldProcessParameters =
    [
        ("WhatIf", "Shows what would happen if the cmdlet runs. The cmdlet is not run and nothing is changed."),
        ("Confirm", "Prompts you for confirmation before running the cmdlet."),
    ];

    /// <summary>Builds the MAML document; <paramref name="help"/> must have passed <see cref="HelpValidator"/>.</summary>
    public static XDocument Write(IEnumerable<CmdletMetadata> cmdlets, IReadOnlyDictionary<string, CommandHelp> help)
    {
        var root = new XElement(Msh + "helpItems", new XAttribute("schema", "maml"),
            new XAttribute(XNamespace.Xmlns + "maml", Maml.NamespaceName),
            new XAttribute(XNamespace.Xmlns + "command", Command.NamespaceName),
            new XAttribute(XNamespace.Xmlns + "dev", Dev.NamespaceName));
        foreach (var cmdlet in cmdlets.OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            root.Add(CommandElement(cmdlet, help[cmdlet.Name]));
        }
        return new XDocument(new XDeclaration("1.0", "utf-8", null), root);
    }

    private static XElement CommandElement(CmdletMetadata cmdlet, CommandHelp help) =>
        new(Command + "command",
            new XElement(Command + "details",
                new XElement(Command + "name", cmdlet.Name),
                new XElement(Command + "verb", cmdlet.Verb),
                new XElement(Command + "noun", cmdlet.Noun),
                Description(help.Synopsis)),
            Description(help.Description),
            new XElement(Command + "syntax", cmdlet.ParameterSetNames.Select(set => SyntaxItem(cmdlet, set))),
            new XElement(Command + "parameters",
                VisibleParameters(cmdlet).Select(p => ParameterElement(p, help, syntaxSet: null)),
                cmdlet.SupportsShouldProcess ? ShouldProcessParameters.Select(CommonParameter) : null),
            new XElement(Command + "inputTypes", InputTypes(cmdlet, help)),
            new XElement(Command + "returnValues", OutputTypes(cmdlet, help)),
            help.Notes.Count > 0 ? new XElement(Maml + "alertSet", new XElement(Maml + "alert", Paras(help.Notes))) : null,
            new XElement(Command + "examples", help.Examples.Select((e, i) => new XElement(Command + "example",
                new XElement(Maml + "title", $"--------- Example {i + 1}: {e.Title} ---------"),
                new XElement(Dev + "code", e.Code),
                new XElement(Dev + "remarks", Paras(e.Remarks))))),
            new XElement(Command + "relatedLinks", help.RelatedLinks.Select(l => new XElement(Maml + "navigationLink",
                new XElement(Maml + "linkText", l.Text),
                new XElement(Maml + "uri", l.Uri ?? "")))));

    private static IEnumerable<ParameterMetadata> VisibleParameters(CmdletMetadata cmdlet) =>
        cmdlet.Parameters.Where(p => !p.Sets.All(s => s.DontShow));

    private static XElement SyntaxItem(CmdletMetadata cmdlet, string set)
    {
        var parameters = cmdlet.ParametersIn(set)
            .Where(x => !x.Set.DontShow)
            .OrderBy(x => x.Set.Position ?? int.MaxValue)
            .ThenBy(x => x.Set.Mandatory ? 0 : 1)
            .ToList();
        return new XElement(Command + "syntaxItem",
            new XElement(Maml + "name", cmdlet.Name),
            parameters.Select(x => ParameterElement(x.Parameter, null, x.Set)),
            cmdlet.SupportsShouldProcess ? ShouldProcessParameters.Select(CommonParameter) : null);
    }

    private static XElement ParameterElement(ParameterMetadata parameter, CommandHelp? help, ParameterSetMetadata? syntaxSet)
    {
        var sets = syntaxSet is null ? parameter.Sets : [syntaxSet];
        var required = sets.All(s => s.Mandatory);
        var position = sets.Select(s => s.Position).Distinct().ToList() is [int single] ? single.ToString(System.Globalization.CultureInfo.InvariantCulture) : "named";
        var pipeline = PipelineText(sets.Any(s => s.ValueFromPipeline), sets.Any(s => s.ValueFromPipelineByPropertyName));
        var text = help is not null && help.Parameters.TryGetValue(parameter.Name, out var paras) ? paras : [];
        var element = new XElement(Command + "parameter",
            new XAttribute("required", required ? "true" : "false"),
            new XAttribute("variableLength", parameter.IsArray ? "true" : "false"),
            new XAttribute("globbing", parameter.SupportsWildcards ? "true" : "false"),
            new XAttribute("pipelineInput", pipeline),
            new XAttribute("position", position),
            new XAttribute("aliases", parameter.Aliases.Count > 0 ? string.Join(", ", parameter.Aliases) : "none"),
            new XElement(Maml + "name", parameter.Name),
            Description(text));
        if (parameter.ValidValues.Count > 0)
        {
            element.Add(new XElement(Command + "parameterValueGroup", parameter.ValidValues.Select(v =>
                new XElement(Command + "parameterValue", new XAttribute("required", "false"),
                    new XAttribute("variableLength", "false"), v))));
        }
        if (!parameter.IsSwitch || syntaxSet is null)
        {
            element.Add(new XElement(Command + "parameterValue",
                new XAttribute("required", parameter.IsSwitch ? "false" : "true"),
                new XAttribute("variableLength", parameter.IsArray ? "true" : "false"),
                parameter.TypeDisplayName));
        }
        element.Add(new XElement(Dev + "type", new XElement(Maml + "name", parameter.TypeName), new XElement(Maml + "uri")));
        element.Add(new XElement(Dev + "defaultValue", parameter.IsSwitch ? "False" : "None"));
        return element;
    }

    private static XElement CommonParameter((string Name, string Description) p) =>
        new(Command + "parameter",
            new XAttribute("required", "false"), new XAttribute("variableLength", "false"),
            new XAttribute("globbing", "false"), new XAttribute("pipelineInput", "False"),
            new XAttribute("position", "named"), new XAttribute("aliases", p.Name == "WhatIf" ? "wi" : "cf"),
            new XElement(Maml + "name", p.Name),
            Description(p.Description),
            new XElement(Command + "parameterValue", new XAttribute("required", "false"), new XAttribute("variableLength", "false"), "SwitchParameter"),
            new XElement(Dev + "type", new XElement(Maml + "name", "System.Management.Automation.SwitchParameter"), new XElement(Maml + "uri")),
            new XElement(Dev + "defaultValue", "False"));

    private static IEnumerable<XElement> InputTypes(CmdletMetadata cmdlet, CommandHelp help)
    {
        var derived = cmdlet.Parameters.Where(p => p.ValueFromPipeline || p.ValueFromPipelineByPropertyName)
            .Select(p => p.TypeName).Distinct(StringComparer.Ordinal).ToList();
        var names = help.Inputs.Keys.Concat(derived.Where(d => !help.Inputs.Keys.Any(k => SameType(k, d)))).ToList();
        if (names.Count == 0)
        {
            names.Add("None");
        }
        return names.Select(n => new XElement(Command + "inputType",
            new XElement(Dev + "type", new XElement(Maml + "name", n)),
            Description(help.Inputs.TryGetValue(n, out var paras) ? paras : [])));
    }

    private static IEnumerable<XElement> OutputTypes(CmdletMetadata cmdlet, CommandHelp help)
    {
        var declared = cmdlet.OutputTypes.Select(o => o.TypeName).Distinct(StringComparer.Ordinal).ToList();
        var names = declared.Concat(help.Outputs.Keys.Where(k => !declared.Any(d => SameType(k, d)))).ToList();
        return names.Select(n => new XElement(Command + "returnValue",
            new XElement(Dev + "type", new XElement(Maml + "name", n)),
            Description(help.Outputs.FirstOrDefault(o => SameType(o.Key, n)).Value ?? [])));
    }

    /// <summary>True when <paramref name="written"/> names <paramref name="fullName"/> (full or short name).</summary>
    internal static bool SameType(string written, string fullName) =>
        string.Equals(written, fullName, StringComparison.Ordinal)
        || fullName.EndsWith("." + written, StringComparison.Ordinal);

    private static string PipelineText(bool byValue, bool byName) => (byValue, byName) switch
    {
        (true, true) => "True (ByPropertyName, ByValue)",
        (true, false) => "True (ByValue)",
        (false, true) => "True (ByPropertyName)",
        _ => "False",
    };

    private static XElement Description(string text) => Description(text.Length == 0 ? [] : [text]);

    private static XElement Description(IEnumerable<string> paragraphs) =>
        new(Maml + "description", Paras(paragraphs));

    private static IEnumerable<XElement> Paras(IEnumerable<string> paragraphs)
    {
        var list = paragraphs.ToList();
        return list.Count == 0 ? [new XElement(Maml + "para")] : list.Select(p => new XElement(Maml + "para", p));
    }
}
