using System.Text;

namespace SandboxPS.HelpGen;

/// <summary>The help text of one cmdlet, as written in docs/help/&lt;Verb-Noun&gt;.md.</summary>
public sealed class CommandHelp
{
    /// <summary>Verb-Noun, from the level-1 heading.</summary>
    public required string Name { get; init; }
    /// <summary>The file it came from (for messages).</summary>
    public required string SourcePath { get; init; }
    /// <summary>One or two sentences.</summary>
    public string Synopsis { get; set; } = "";
    /// <summary>Paragraphs.</summary>
    public List<string> Description { get; } = [];
    /// <summary>Parameter name (without the dash) to paragraphs.</summary>
    public Dictionary<string, List<string>> Parameters { get; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>Examples in order.</summary>
    public List<HelpExample> Examples { get; } = [];
    /// <summary>Input type name to paragraphs.</summary>
    public Dictionary<string, List<string>> Inputs { get; } = new(StringComparer.Ordinal);
    /// <summary>Output type name to paragraphs.</summary>
    public Dictionary<string, List<string>> Outputs { get; } = new(StringComparer.Ordinal);
    /// <summary>Paragraphs.</summary>
    public List<string> Notes { get; } = [];
    /// <summary>Related links: text and optional URI.</summary>
    public List<(string Text, string? Uri)> RelatedLinks { get; } = [];
}

/// <summary>One example: a title, the code, and remarks after it.</summary>
public sealed class HelpExample
{
    /// <summary>Title without the "Example N:" prefix.</summary>
    public required string Title { get; init; }
    /// <summary>Code of the first fenced block.</summary>
    public string Code { get; set; } = "";
    /// <summary>Paragraphs after the code.</summary>
    public List<string> Remarks { get; } = [];
}

/// <summary>A problem in a help source, with the file and line.</summary>
public sealed class HelpSourceException(string message) : Exception(message);

/// <summary>
/// Reads the help sources: a small, strict markdown dialect (platyPS-like headings).
/// <code>
/// # Verb-Noun
/// ## SYNOPSIS / ## DESCRIPTION / ## NOTES     paragraphs
/// ## PARAMETERS      ### -Name                paragraphs per parameter
/// ## EXAMPLES        ### Example 1: Title     ```powershell code``` then remarks
/// ## INPUTS / ## OUTPUTS   ### Type.Name      paragraphs
/// ## RELATED LINKS   - Get-Sandbox  or  - [text](uri)
/// </code>
/// </summary>
public static class HelpSourceParser
{
    private static readonly string[] KnownSections =
        ["SYNOPSIS", "DESCRIPTION", "PARAMETERS", "EXAMPLES", "INPUTS", "OUTPUTS", "NOTES", "RELATED LINKS"];

    /// <summary>Parses every <c>*.md</c> file of <paramref name="directory"/>.</summary>
    public static IReadOnlyList<CommandHelp> ParseDirectory(string directory) =>
        Directory.EnumerateFiles(directory, "*.md").OrderBy(f => f, StringComparer.Ordinal)
            .Select(f => Parse(File.ReadAllText(f), f)).ToList();

    /// <summary>Parses one source text.</summary>
    /// <exception cref="HelpSourceException">Structure errors, naming the file and line.</exception>
    public static CommandHelp Parse(string text, string sourcePath)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        CommandHelp? help = null;
        string? section = null;
        string? sub = null;
        HelpExample? example = null;
        var paragraph = new StringBuilder();
        var inCode = false;
        var code = new StringBuilder();
        var exampleHasCode = false;

        List<string>? Target()
        {
            if (help is null || section is null)
            {
                return null;
            }
            return section switch
            {
                "DESCRIPTION" => help.Description,
                "NOTES" => help.Notes,
                "PARAMETERS" when sub is not null => help.Parameters[sub],
                "INPUTS" when sub is not null => help.Inputs[sub],
                "OUTPUTS" when sub is not null => help.Outputs[sub],
                "EXAMPLES" when example is not null && exampleHasCode => example.Remarks,
                _ => null,
            };
        }

        void Flush(int lineNo)
        {
            if (paragraph.Length == 0)
            {
                return;
            }
            var para = paragraph.ToString().Trim();
            paragraph.Clear();
            if (help is not null && section == "SYNOPSIS")
            {
                help.Synopsis = help.Synopsis.Length == 0 ? para : help.Synopsis + " " + para;
                return;
            }
            var target = Target()
                ?? throw Error(sourcePath, lineNo, section == "EXAMPLES"
                    ? "text in EXAMPLES must follow an '### Example N: title' heading and its code block"
                    : $"text outside a known place (section '{section ?? "(none)"}')");
            target.Add(para);
        }

        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var lineNo = i + 1;
            if (inCode)
            {
                if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
                {
                    inCode = false;
                    example!.Code = code.ToString().TrimEnd('\n');
                    code.Clear();
                    exampleHasCode = true;
                }
                else
                {
                    code.Append(line).Append('\n');
                }
                continue;
            }
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                Flush(lineNo);
                if (section != "EXAMPLES" || example is null)
                {
                    throw Error(sourcePath, lineNo, "code blocks belong in EXAMPLES, under an '### Example' heading");
                }
                if (exampleHasCode)
                {
                    throw Error(sourcePath, lineNo, $"example '{example.Title}' has a second code block; use one per example");
                }
                inCode = true;
                continue;
            }
            if (line.StartsWith("# ", StringComparison.Ordinal))
            {
                Flush(lineNo);
                if (help is not null)
                {
                    throw Error(sourcePath, lineNo, "only one '# Verb-Noun' heading per file");
                }
                help = new CommandHelp { Name = line[2..].Trim(), SourcePath = sourcePath };
                continue;
            }
            if (help is null)
            {
                if (line.Trim().Length > 0)
                {
                    throw Error(sourcePath, lineNo, "the file must start with '# Verb-Noun'");
                }
                continue;
            }
            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                Flush(lineNo);
                section = line[3..].Trim().ToUpperInvariant();
                if (!KnownSections.Contains(section))
                {
                    throw Error(sourcePath, lineNo, $"unknown section '{section}'; use {string.Join(", ", KnownSections)}");
                }
                sub = null;
                example = null;
                continue;
            }
            if (line.StartsWith("### ", StringComparison.Ordinal))
            {
                Flush(lineNo);
                var heading = line[4..].Trim();
                switch (section)
                {
                    case "PARAMETERS":
                        if (!heading.StartsWith('-'))
                        {
                            throw Error(sourcePath, lineNo, $"parameter headings look like '### -Name', not '### {heading}'");
                        }
                        sub = heading[1..].Trim();
                        if (!help.Parameters.TryAdd(sub, []))
                        {
                            throw Error(sourcePath, lineNo, $"parameter -{sub} is described twice");
                        }
                        break;
                    case "EXAMPLES":
                        var colon = heading.IndexOf(':');
                        if (!heading.StartsWith("Example", StringComparison.OrdinalIgnoreCase) || colon < 0)
                        {
                            throw Error(sourcePath, lineNo, "example headings look like '### Example 1: What it shows'");
                        }
                        if (example is not null && !exampleHasCode)
                        {
                            throw Error(sourcePath, lineNo, $"example '{example.Title}' has no code block");
                        }
                        example = new HelpExample { Title = heading[(colon + 1)..].Trim() };
                        exampleHasCode = false;
                        help.Examples.Add(example);
                        break;
                    case "INPUTS":
                        sub = heading;
                        help.Inputs[sub] = [];
                        break;
                    case "OUTPUTS":
                        sub = heading;
                        help.Outputs[sub] = [];
                        break;
                    default:
                        throw Error(sourcePath, lineNo, $"'###' headings are not used in {section ?? "this place"}");
                }
                continue;
            }
            if (section == "RELATED LINKS")
            {
                var item = line.Trim();
                if (item.Length == 0)
                {
                    continue;
                }
                if (!item.StartsWith("- ", StringComparison.Ordinal))
                {
                    throw Error(sourcePath, lineNo, "related links are list items: '- Get-Sandbox' or '- [text](uri)'");
                }
                item = item[2..].Trim();
                if (item.StartsWith('[') && item.IndexOf("](", StringComparison.Ordinal) is var mid and > 0 && item.EndsWith(')'))
                {
                    help.RelatedLinks.Add((item[1..mid], item[(mid + 2)..^1]));
                }
                else
                {
                    help.RelatedLinks.Add((item, null));
                }
                continue;
            }
            if (line.Trim().Length == 0)
            {
                Flush(lineNo);
            }
            else
            {
                if (paragraph.Length > 0)
                {
                    paragraph.Append(' ');
                }
                paragraph.Append(line.Trim());
            }
        }
        if (inCode)
        {
            throw Error(sourcePath, lines.Length, "a code block is not closed");
        }
        Flush(lines.Length);
        if (help is null)
        {
            throw Error(sourcePath, 1, "the file is empty; it must start with '# Verb-Noun'");
        }
        if (example is not null && !exampleHasCode)
        {
            throw Error(sourcePath, lines.Length, $"example '{example.Title}' has no code block");
        }
        return help;
    }

    private static HelpSourceException Error(string path, int line, string message) =>
        new($"{path}({line}): {message}.");
}
