using System.Collections.ObjectModel;
using System.Reflection;
using System.Runtime.InteropServices;

namespace SandboxPS.HelpGen;

/// <summary>A cmdlet as declared in an assembly's metadata.</summary>
public sealed record CmdletMetadata(
    string Verb,
    string Noun,
    string TypeName,
    bool IsSealed,
    string? BaseTypeName,
    IReadOnlyList<string> BaseTypeChain,
    string? DefaultParameterSetName,
    bool SupportsShouldProcess,
    string ConfirmImpact,
    IReadOnlyList<OutputTypeMetadata> OutputTypes,
    IReadOnlyList<ParameterMetadata> Parameters)
{
    /// <summary>Verb-Noun.</summary>
    public string Name => $"{Verb}-{Noun}";

    /// <summary>Explicit parameter set names, or <c>__AllParameterSets</c> when none is declared.</summary>
    public IReadOnlyList<string> ParameterSetNames
    {
        get
        {
            var names = Parameters.SelectMany(p => p.Sets).Select(s => s.SetName)
                .Where(n => n != ParameterSetMetadata.AllSets).Distinct(StringComparer.Ordinal).ToList();
            if (names.Count == 0)
            {
                names.Add(ParameterSetMetadata.AllSets);
            }
            if (DefaultParameterSetName is { } def && names.Remove(def))
            {
                names.Insert(0, def);
            }
            return names;
        }
    }

    /// <summary>The parameters of <paramref name="setName"/> with their metadata for that set.</summary>
    public IEnumerable<(ParameterMetadata Parameter, ParameterSetMetadata Set)> ParametersIn(string setName) =>
        Parameters.SelectMany(p => p.Sets
            .Where(s => s.SetName == setName || s.SetName == ParameterSetMetadata.AllSets)
            .Take(1)
            .Select(s => (p, s)));

    /// <summary>The parameter called <paramref name="name"/> (case-insensitive), or null.</summary>
    public ParameterMetadata? Parameter(string name) =>
        Parameters.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
}

/// <summary>An [OutputType] declaration.</summary>
public sealed record OutputTypeMetadata(string TypeName, IReadOnlyList<string> ParameterSetNames);

/// <summary>A cmdlet parameter (a public property with [Parameter]).</summary>
public sealed record ParameterMetadata(
    string Name,
    string TypeName,
    string TypeDisplayName,
    bool IsSwitch,
    bool IsArray,
    bool IsNullableValueType,
    IReadOnlyList<string> Aliases,
    IReadOnlyList<ParameterSetMetadata> Sets,
    bool SupportsWildcards,
    IReadOnlyList<string> ValidValues,
    string? ValidateRange,
    string? CompleterTypeName,
    IReadOnlyList<string> TransformationTypeNames,
    IReadOnlyList<string> OtherAttributes,
    bool CanWrite)
{
    /// <summary>True when any set takes the value from the pipeline.</summary>
    public bool ValueFromPipeline => Sets.Any(s => s.ValueFromPipeline);

    /// <summary>True when any set takes the value from a pipeline object's property.</summary>
    public bool ValueFromPipelineByPropertyName => Sets.Any(s => s.ValueFromPipelineByPropertyName);
}

/// <summary>One [Parameter] attribute of a parameter: its behaviour in one parameter set.</summary>
public sealed record ParameterSetMetadata(
    string SetName,
    int? Position,
    bool Mandatory,
    bool ValueFromPipeline,
    bool ValueFromPipelineByPropertyName,
    bool ValueFromRemainingArguments,
    bool DontShow,
    string? HelpMessage)
{
    /// <summary>The set name PowerShell uses for parameters that belong to every set.</summary>
    public const string AllSets = "__AllParameterSets";
}

/// <summary>
/// Reads cmdlet declarations from an assembly without loading it for execution
/// (System.Reflection.MetadataLoadContext), so a net8.0 cmdlet assembly compiled against the
/// PowerShell Standard reference can be inspected by a net10.0 process with no PowerShell.
/// </summary>
public static class CmdletMetadataReader
{
    private const string SmaNamespace = "System.Management.Automation.";

    /// <summary>Every public, non-abstract type with [Cmdlet] in <paramref name="assemblyPath"/>.</summary>
    /// <param name="assemblyPath">The cmdlet assembly.</param>
    /// <param name="references">Extra assemblies to resolve against (System.Management.Automation.dll).</param>
    public static IReadOnlyList<CmdletMetadata> Read(string assemblyPath, IEnumerable<string> references)
    {
        using var context = CreateContext(assemblyPath, references);
        var assembly = context.LoadFromAssemblyPath(Path.GetFullPath(assemblyPath));
        return LoadableTypes(assembly)
            .Where(t => t.IsPublic && !t.IsAbstract && t.IsClass)
            .Select(t => (Type: t, Cmdlet: Attribute(t.GetCustomAttributesData(), "CmdletAttribute")))
            .Where(x => x.Cmdlet is not null)
            .Select(x => ReadCmdlet(x.Type, x.Cmdlet!))
            .OrderBy(c => c.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// A load context that resolves the running runtime's assemblies, everything beside
    /// <paramref name="assemblyPath"/>, and <paramref name="references"/>.
    /// </summary>
    public static MetadataLoadContext CreateContext(string assemblyPath, IEnumerable<string> references)
    {
        var paths = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        void Add(string path) => paths.TryAdd(Path.GetFileName(path), Path.GetFullPath(path));
        foreach (var reference in references)
        {
            if (!File.Exists(reference))
            {
                throw new FileNotFoundException($"Reference assembly '{reference}' does not exist.", reference);
            }
            Add(reference);
        }
        var directory = Path.GetDirectoryName(Path.GetFullPath(assemblyPath))!;
        foreach (var dll in Directory.EnumerateFiles(directory, "*.dll"))
        {
            Add(dll);
        }
        foreach (var dll in Directory.EnumerateFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll"))
        {
            Add(dll);
        }
        return new MetadataLoadContext(new PathAssemblyResolver(paths.Values), "System.Private.CoreLib");
    }

    /// <summary>The names of an enum's members, in declaration order (for enums read from metadata).</summary>
    public static IReadOnlyList<string> EnumNames(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => f.Name).ToList();

    private static IEnumerable<Type> LoadableTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException ex)
        {
            return ex.Types.Where(t => t is not null)!;
        }
    }

    private static CmdletMetadata ReadCmdlet(Type type, CustomAttributeData cmdlet)
    {
        var verb = (string)cmdlet.ConstructorArguments[0].Value!;
        var noun = (string)cmdlet.ConstructorArguments[1].Value!;
        var confirmImpact = Named(cmdlet, "ConfirmImpact") is { } impact
            ? ConfirmImpactName(Convert.ToInt32(impact, System.Globalization.CultureInfo.InvariantCulture))
            : "Medium";
        var chain = new List<string>();
        for (var b = type.BaseType; b is not null; b = b.BaseType)
        {
            chain.Add(b.FullName ?? b.Name);
        }
        var outputs = type.GetCustomAttributesData()
            .Where(a => a.AttributeType.FullName == SmaNamespace + "OutputTypeAttribute")
            .SelectMany(ReadOutputTypes)
            .ToList();
        var parameters = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(ReadParameter)
            .Where(p => p is not null)
            .Select(p => p!)
            .ToList();
        return new CmdletMetadata(verb, noun, type.FullName!, type.IsSealed, type.BaseType?.FullName, chain,
            Named(cmdlet, "DefaultParameterSetName") as string,
            Named(cmdlet, "SupportsShouldProcess") is true,
            confirmImpact, outputs, parameters);
    }

    private static IEnumerable<OutputTypeMetadata> ReadOutputTypes(CustomAttributeData attribute)
    {
        var sets = Named(attribute, "ParameterSetName") is ReadOnlyCollection<CustomAttributeTypedArgument> names
            ? names.Select(n => (string)n.Value!).ToList()
            : new List<string>();
        foreach (var arg in attribute.ConstructorArguments)
        {
            if (arg.Value is ReadOnlyCollection<CustomAttributeTypedArgument> items)
            {
                foreach (var item in items)
                {
                    yield return new OutputTypeMetadata(item.Value is Type t ? t.FullName! : (string)item.Value!, sets);
                }
            }
        }
    }

    private static ParameterMetadata? ReadParameter(PropertyInfo property)
    {
        var attributes = property.GetCustomAttributesData();
        var sets = attributes.Where(a => a.AttributeType.FullName == SmaNamespace + "ParameterAttribute")
            .Select(a => new ParameterSetMetadata(
                Named(a, "ParameterSetName") as string ?? ParameterSetMetadata.AllSets,
                Named(a, "Position") is int pos && pos != int.MinValue ? pos : null,
                Named(a, "Mandatory") is true,
                Named(a, "ValueFromPipeline") is true,
                Named(a, "ValueFromPipelineByPropertyName") is true,
                Named(a, "ValueFromRemainingArguments") is true,
                Named(a, "DontShow") is true,
                Named(a, "HelpMessage") as string))
            .ToList();
        if (sets.Count == 0)
        {
            return null;
        }
        var type = property.PropertyType;
        var nullable = type.IsGenericType && type.GetGenericTypeDefinition().FullName == "System.Nullable`1";
        var elementType = nullable ? type.GetGenericArguments()[0] : type;
        var isArray = elementType.IsArray;
        var scalar = isArray ? elementType.GetElementType()! : elementType;

        var aliases = attributes.Where(a => a.AttributeType.FullName == SmaNamespace + "AliasAttribute")
            .SelectMany(StringArguments).ToList();
        var validValues = attributes.Where(a => a.AttributeType.FullName == SmaNamespace + "ValidateSetAttribute")
            .SelectMany(StringArguments).ToList();
        if (validValues.Count == 0 && scalar.IsEnum)
        {
            validValues = EnumNames(scalar).ToList();
        }
        var range = attributes.FirstOrDefault(a => a.AttributeType.FullName == SmaNamespace + "ValidateRangeAttribute") is { } r
            && r.ConstructorArguments.Count == 2
            ? $"{r.ConstructorArguments[0].Value}..{r.ConstructorArguments[1].Value}"
            : null;
        var completer = attributes.FirstOrDefault(a => a.AttributeType.FullName == SmaNamespace + "ArgumentCompleterAttribute")
            ?.ConstructorArguments.FirstOrDefault().Value as Type;
        var transformations = attributes.Where(a => Derives(a.AttributeType, SmaNamespace + "ArgumentTransformationAttribute"))
            .Select(a => a.AttributeType.FullName!).ToList();
        var others = attributes.Select(a => a.AttributeType.Name).Distinct().ToList();

        return new ParameterMetadata(
            property.Name,
            type.FullName ?? type.Name,
            DisplayName(scalar) + (isArray ? "[]" : ""),
            scalar.FullName == SmaNamespace + "SwitchParameter",
            isArray,
            nullable,
            aliases,
            sets,
            attributes.Any(a => a.AttributeType.FullName == SmaNamespace + "SupportsWildcardsAttribute"),
            validValues,
            range,
            completer?.FullName,
            transformations,
            others,
            property.CanWrite && property.SetMethod is { IsPublic: true });
    }

    private static string DisplayName(Type type) => type.Name;

    private static bool Derives(Type type, string baseFullName)
    {
        for (var t = type.BaseType; t is not null; t = t.BaseType)
        {
            if (t.FullName == baseFullName)
            {
                return true;
            }
        }
        return false;
    }

    private static IEnumerable<string> StringArguments(CustomAttributeData attribute)
    {
        foreach (var arg in attribute.ConstructorArguments)
        {
            if (arg.Value is ReadOnlyCollection<CustomAttributeTypedArgument> items)
            {
                foreach (var item in items)
                {
                    yield return (string)item.Value!;
                }
            }
            else if (arg.Value is string s)
            {
                yield return s;
            }
        }
    }

    private static CustomAttributeData? Attribute(IEnumerable<CustomAttributeData> attributes, string name) =>
        attributes.FirstOrDefault(a => a.AttributeType.FullName == SmaNamespace + name);

    private static object? Named(CustomAttributeData attribute, string name)
    {
        foreach (var arg in attribute.NamedArguments)
        {
            if (arg.MemberName == name)
            {
                return arg.TypedValue.Value;
            }
        }
        return null;
    }

    private static string ConfirmImpactName(int value) => value switch
    {
        0 => "None",
        1 => "Low",
        2 => "Medium",
        3 => "High",
        _ => value.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
