using System.Reflection;
using System.Runtime.Loader;
using SandboxPS.Loader;

namespace SandboxPS.Tests;

/// <summary>The module's AssemblyLoadContext, exercised on the staged bin/ folder.</summary>
public class LoadContextTests
{
    [Fact]
    public void Load_OurAssembly_LoadsFromBinIntoSandboxPSContext()
    {
        var context = new LoadContext(TestPaths.StagedBin);
        var core = context.LoadFromAssemblyName(new AssemblyName("SandboxPS.Core"));
        Assert.Equal("SandboxPS", AssemblyLoadContext.GetLoadContext(core)!.Name);
        Assert.Equal(Path.Combine(TestPaths.StagedBin, "SandboxPS.Core.dll"), core.Location);
    }

    [Fact]
    public void Load_Dependency_IsIsolatedFromTheDefaultContext()
    {
        var context = new LoadContext(TestPaths.StagedBin);
        var polly = context.LoadFromAssemblyName(new AssemblyName("Polly.Core"));
        Assert.Same(context, AssemblyLoadContext.GetLoadContext(polly));
        Assert.StartsWith(TestPaths.StagedBin, polly.Location, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_CmdletAssembly_ComesFromBin()
    {
        var context = new LoadContext(TestPaths.StagedBin);
        var cmdlets = context.LoadFromAssemblyName(new AssemblyName("SandboxPS"));
        Assert.Same(context, AssemblyLoadContext.GetLoadContext(cmdlets));
    }

    [Theory]
    [InlineData("System.Management.Automation")]
    [InlineData("System.Runtime")]
    [InlineData("System.Text.Json")]
    [InlineData("../SandboxPS.Core")]
    public void ResolvePath_AssembliesNotInBin_DeferToDefaultContext(string name)
    {
        var context = new LoadContext(TestPaths.StagedBin);
        Assert.Null(context.ResolvePath(new AssemblyName(name)));
    }

    [Fact]
    public void Load_TheLoaderItself_ReturnsTheDefaultContextInstance()
    {
        var context = new LoadContext(TestPaths.StagedBin);
        var loader = context.LoadFromAssemblyName(typeof(LoadContext).Assembly.GetName());
        Assert.Same(typeof(LoadContext).Assembly, loader);
    }

    [Fact]
    public void ContextName_IsSandboxPS()
    {
        Assert.Equal("SandboxPS", LoadContext.ContextName);
        Assert.Equal("SandboxPS", new LoadContext(TestPaths.StagedBin).Name);
    }
}
