using SandboxPS.HelpGen;

// sandboxps-helpgen --assembly SandboxPS.dll --reference System.Management.Automation.dll
//                   --source docs/help --output en-US/SandboxPS.dll-Help.xml
string? assembly = null, source = null, output = null;
var references = new List<string>();
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
    switch (args[i])
    {
        case "--assembly": assembly = Next(); break;
        case "--reference": references.Add(Next()); break;
        case "--source": source = Next(); break;
        case "--output": output = Next(); break;
        default:
            Console.Error.WriteLine($"SandboxPS.HelpGen: error HG100: unknown argument '{args[i]}'.");
            return 2;
    }
}
if (assembly is null || source is null || output is null)
{
    Console.Error.WriteLine("SandboxPS.HelpGen: error HG100: usage: --assembly <dll> [--reference <dll>]... --source <dir> --output <file>.");
    return 2;
}

try
{
    var result = HelpGenerator.Generate(assembly, references, source, output);
    if (result.Problems.Count > 0)
    {
        foreach (var problem in result.Problems)
        {
            Console.Error.WriteLine(problem);
        }
        return 1;
    }
    Console.WriteLine($"SandboxPS.HelpGen: wrote help for {result.CommandCount} cmdlets to {output}");
    return 0;
}
catch (Exception ex) when (ex is HelpSourceException or FileNotFoundException or DirectoryNotFoundException or BadImageFormatException)
{
    Console.Error.WriteLine($"SandboxPS.HelpGen: error HG101: {ex.Message}");
    return 1;
}
catch (Exception ex)
{
    Console.Error.WriteLine($"SandboxPS.HelpGen: error HG102: unexpected {ex.GetType().Name}: {ex.Message}");
    Console.Error.WriteLine(ex.StackTrace);
    return 1;
}
