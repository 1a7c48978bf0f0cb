using System.Reflection;
using System.Runtime.Loader;

namespace SandboxPS.Loader;

/// <summary>
/// The load context of the SandboxPS module. It resolves an assembly from the module's <c>bin</c>
/// folder when a file of that name exists there, and otherwise defers to the default context, so the
/// BCL and System.Management.Automation are shared with PowerShell while our dependencies (Polly,
/// later Azure.*) never clash with the versions other modules load.
/// </summary>
/// <remarks>
/// SandboxPS.psm1 calls <see cref="Initialize(string)"/> once per process and passes the returned
/// assembly to <c>Import-Module -Assembly</c>. Re-imports (<c>Import-Module -Force</c>) reuse the same
/// context: an assembly loaded into a context can never be loaded into it a second time.
/// </remarks>
public sealed class LoadContext : AssemblyLoadContext
{
    /// <summary>Name of the load context, as <c>AssemblyLoadContext.GetLoadContext(...).Name</c> reports it.</summary>
    public const string ContextName = "SandboxPS";

    private static readonly object Gate = new();
    private static LoadContext? s_instance;

    private readonly string _directory;
    private readonly Assembly _self = typeof(LoadContext).Assembly;

    /// <summary>Creates a context that loads from <paramref name="directory"/>.</summary>
    /// <param name="directory">The folder holding the module's assemblies.</param>
    public LoadContext(string directory)
        : base(ContextName, isCollectible: false)
    {
        _directory = Path.GetFullPath(directory);
    }

    /// <summary>The folder this context loads assemblies from.</summary>
    public string Directory => _directory;

    /// <summary>
    /// Loads <paramref name="mainAssemblyName"/> (the cmdlet assembly, e.g. <c>SandboxPS</c>) from the
    /// folder of this loader into the shared SandboxPS context and returns it.
    /// </summary>
    /// <param name="mainAssemblyName">Simple name of the assembly that holds the cmdlets.</param>
    /// <returns>The loaded assembly, for <c>Import-Module -Assembly</c>.</returns>
    /// <exception cref="FileNotFoundException">The assembly file is not beside the loader.</exception>
    public static Assembly Initialize(string mainAssemblyName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(mainAssemblyName);
        var context = GetOrCreate(Path.GetDirectoryName(typeof(LoadContext).Assembly.Location)!);
        return context.LoadFromAssemblyName(new AssemblyName(mainAssemblyName));
    }

    /// <summary>The process-wide context for <paramref name="directory"/>; created on first use.</summary>
    internal static LoadContext GetOrCreate(string directory)
    {
        lock (Gate)
        {
            return s_instance ??= new LoadContext(directory);
        }
    }

    /// <summary>Where the context would load <paramref name="assemblyName"/> from; null = the default context.</summary>
    internal string? ResolvePath(AssemblyName assemblyName)
    {
        var simpleName = assemblyName.Name;
        if (string.IsNullOrEmpty(simpleName) || simpleName.IndexOfAny(['/', '\\']) >= 0 || simpleName.Contains(".."))
        {
            return null;
        }
        var candidate = Path.Combine(_directory, simpleName + ".dll");
        return File.Exists(candidate) ? candidate : null;
    }

    /// <inheritdoc />
    protected override Assembly? Load(AssemblyName assemblyName)
    {
        // The loader lives in the default context; hand out that one instance so type identity holds.
        if (AssemblyName.ReferenceMatchesDefinition(assemblyName, _self.GetName()))
        {
            return _self;
        }
        var path = ResolvePath(assemblyName);
        return path is null ? null : LoadFromAssemblyPath(path);
    }

    /// <inheritdoc />
    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        var path = Path.Combine(_directory, unmanagedDllName);
        return File.Exists(path) ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
    }
}
