namespace SandboxPS.HelpGen;

/// <summary>Outcome of a generation: the problems found (nothing is written when there are any).</summary>
public sealed record HelpGenerationResult(int CommandCount, IReadOnlyList<string> Problems);

/// <summary>Reads metadata and sources, validates, and writes the MAML file.</summary>
public static class HelpGenerator
{
    /// <summary>Generates <paramref name="outputPath"/>, or returns the problems that prevent it.</summary>
    public static HelpGenerationResult Generate(string assemblyPath, IEnumerable<string> references, string sourceDirectory, string outputPath)
    {
        var cmdlets = CmdletMetadataReader.Read(assemblyPath, references);
        var help = HelpSourceParser.ParseDirectory(sourceDirectory);
        var problems = HelpValidator.Validate(cmdlets, help);
        if (problems.Count > 0)
        {
            return new HelpGenerationResult(cmdlets.Count, problems);
        }
        var byName = help.ToDictionary(h => h.Name, StringComparer.OrdinalIgnoreCase);
        var document = MamlWriter.Write(cmdlets, byName);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outputPath))!);
        var temp = outputPath + ".tmp";
        document.Save(temp);
        File.Move(temp, outputPath, overwrite: true);
        return new HelpGenerationResult(cmdlets.Count, []);
    }
}
