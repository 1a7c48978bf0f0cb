using System.Management.Automation;

namespace SandboxPS.Pwsh.Tests;

/// <summary>Pipeline binding by value and by property name, with objects made in another runspace.</summary>
[Collection(PwshCollection.Name)]
public sealed class PipelineBindingTests(PwshFixture f)
{
    private Dictionary<string, object?> Both => new() { ["sb"] = f.Sandbox, ["sb2"] = f.Sandbox2 };

    [Fact]
    public void Sandbox_ByValue_RunsInThatSandbox()
    {
        var result = f.Run("param($sb, $sb2) $sb | Invoke-SandboxAction -Command 'echo piped-$((1+1))'", Both).Single();
        Assert.Equal("piped-2", ((string)result.Properties["Output"].Value).Trim());
        Assert.Equal(PwshFixture.Id(f.Sandbox), result.Properties["SandboxId"].Value);
        Assert.Equal(0, result.Properties["ExitCode"].Value);
    }

    [Fact]
    public void SandboxArray_ByValue_RunsOncePerSandboxInOrder()
    {
        var results = f.Run("param($sb, $sb2) @($sb, $sb2, $sb) | Invoke-SandboxAction -ArgumentList 'echo', 'x'", Both);
        Assert.Equal([PwshFixture.Id(f.Sandbox), PwshFixture.Id(f.Sandbox2), PwshFixture.Id(f.Sandbox)],
            results.Select(r => (string)r.Properties["SandboxId"].Value));
    }

    [Fact]
    public void NameAndId_ByValue_ResolveTheSandbox()
    {
        var byName = f.Run("param($sb, $sb2) $sb.Name | Invoke-SandboxAction -Command 'true'", Both).Single();
        var byId = f.Run("param($sb, $sb2) $sb2.Id | Invoke-SandboxAction -Command 'true'", Both).Single();
        Assert.Equal(PwshFixture.Id(f.Sandbox), byName.Properties["SandboxId"].Value);
        Assert.Equal(PwshFixture.Id(f.Sandbox2), byId.Properties["SandboxId"].Value);
    }

    [Fact]
    public void Names_ByValue_ToGetSandbox_FindEach()
    {
        var found = f.Run("param($sb, $sb2) $sb.Name, $sb2.Name | Get-Sandbox", Both);
        Assert.Equal([PwshFixture.Id(f.Sandbox), PwshFixture.Id(f.Sandbox2)], found.Select(PwshFixture.Id));
    }

    [Fact]
    public void NameArray_Parameter_FindsEach()
    {
        var found = f.Run("param($sb, $sb2) Get-Sandbox -Name @($sb2.Name, $sb.Name)", Both);
        Assert.Equal(new[] { PwshFixture.Id(f.Sandbox), PwshFixture.Id(f.Sandbox2) }.Order(), found.Select(PwshFixture.Id).Order());
    }

    [Theory]
    [InlineData("SandboxId")]
    [InlineData("Id")]
    public void CustomObject_ByPropertyName_BindsToGetSandboxId(string property)
    {
        var found = f.Run($"param($sb, $sb2) [pscustomobject]@{{ {property} = $sb2.Id }} | Get-Sandbox", Both).Single();
        Assert.Equal(PwshFixture.Name(f.Sandbox2), PwshFixture.Name(found));
    }

    [Fact]
    public void CustomObject_WithSandboxId_BindsToInvokeSandboxAction()
    {
        var result = f.Run("param($sb, $sb2) [pscustomobject]@{ SandboxId = $sb2.Id; Other = 1 } | Invoke-SandboxAction -Command 'echo ok'", Both).Single();
        Assert.Equal(PwshFixture.Id(f.Sandbox2), result.Properties["SandboxId"].Value);
    }

    [Fact]
    public void Sandbox_ByPropertyName_BindsToCopySandboxItemThroughSandboxIdAlias()
    {
        var source = Path.Combine(Path.GetTempPath(), "pwsh-copy-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(source, "copied-by-property");
        try
        {
            // A Sandbox object carries SandboxId (type data alias) and binds -Sandbox by property name.
            f.Run("param($sb, $path) $sb | Copy-SandboxItem -Path $path -Destination 'by-prop.txt' -ToSandbox",
                new() { ["sb"] = f.Sandbox, ["path"] = source });
            var read = f.Run("param($sb) Invoke-SandboxAction $sb -ReadFile 'by-prop.txt'", new() { ["sb"] = f.Sandbox }).Single();
            Assert.Contains("copied-by-property", read.Properties["Output"].Value?.ToString());
        }
        finally
        {
            File.Delete(source);
        }
    }

    [Fact]
    public void Session_ByValue_KeepsItsStateAcrossRunspaces()
    {
        // The session is made in one runspace and used from two others.
        var session = f.Run("param($sb) $sb | New-SandboxSession", new() { ["sb"] = f.Sandbox }).Single();
        f.Run("param($s) $s | Invoke-SandboxAction -Command 'export PWSH_TEST_VAR=kept-42'", new() { ["s"] = session });
        var result = f.Run("param($s) $s | Invoke-SandboxAction -Command 'echo $PWSH_TEST_VAR'", new() { ["s"] = session }).Single();
        Assert.Equal("kept-42", ((string)result.Properties["Output"].Value).Trim());
        Assert.Equal(session.Properties["Id"].Value, result.Properties["SessionId"].Value);

        // A session piped to Get-Sandbox gives its sandbox; to Remove-SandboxSession removes only it.
        Assert.Equal(PwshFixture.Id(f.Sandbox), PwshFixture.Id(f.Run("param($s) $s | Get-Sandbox", new() { ["s"] = session }).Single()));
        f.Run("param($s) $s | Remove-SandboxSession -Confirm:$false", new() { ["s"] = session });
        var left = f.Run("param($sb) Get-SandboxSession -Sandbox $sb", new() { ["sb"] = f.Sandbox });
        Assert.DoesNotContain(left, s => Equals(s.Properties["Id"].Value, session.Properties["Id"].Value));
        Assert.Equal(PwshFixture.Id(f.Sandbox), PwshFixture.Id(f.Run("param($sb) Get-Sandbox -Id $sb.Id", new() { ["sb"] = f.Sandbox }).Single()));
    }

    [Fact]
    public void ActionResult_ByValue_RunsInTheSameSession()
    {
        var output = f.Run("""
            param($sb)
            $session = $sb | New-SandboxSession
            try {
                $first = $session | Invoke-SandboxAction -Command 'cd /; export R=from-result'
                ($first | Invoke-SandboxAction -Command 'echo "$R $(pwd)"').Output.Trim()
            }
            finally { $session | Remove-SandboxSession -Confirm:$false }
            """, new() { ["sb"] = f.Sandbox }).Single();
        Assert.Equal("from-result /", output.BaseObject);
    }

    [Fact]
    public void WrongType_ByValue_IsATransformationErrorNamingTheParameter()
    {
        var (output, errors) = f.RunAllowingErrors("42 | Invoke-SandboxAction -Command 'true'");
        Assert.Empty(output);
        var error = Assert.Single(errors);
        Assert.Equal("ParameterArgumentTransformationError,SandboxPS.Commands.InvokeSandboxActionCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidData, error.CategoryInfo.Category);
        Assert.Contains("-Sandbox", error.Exception.Message);
        Assert.Equal(42, error.TargetObject);
    }
}
