using System.Management.Automation;

namespace SandboxPS.Pwsh.Tests;

/// <summary>Error records as a PowerShell user sees them, -ErrorAction Stop, -WhatIf and -Confirm.</summary>
[Collection(PwshCollection.Name)]
public sealed class ErrorAndPreferenceTests(PwshFixture f)
{
    [Fact]
    public void MissingName_IsANonTerminatingObjectNotFoundWithAdvice()
    {
        var (output, errors) = f.RunAllowingErrors("Get-Sandbox -Name 'pwsh-missing-sandbox'; 'went-on'");
        Assert.Equal("went-on", Assert.Single(output).BaseObject);
        var error = Assert.Single(errors);
        Assert.Equal("SandboxNotFound,SandboxPS.Commands.GetSandboxCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
        Assert.Equal("pwsh-missing-sandbox", error.TargetObject);
        Assert.Contains("pwsh-missing-sandbox", error.Exception.Message);
        Assert.False(string.IsNullOrWhiteSpace(error.ErrorDetails?.RecommendedAction));
        Assert.Contains("Get-Sandbox", error.ErrorDetails!.RecommendedAction);
    }

    [Fact]
    public void ErrorActionStop_TerminatesAndCatchSeesTheSameRecord()
    {
        var output = f.Run("""
            try { Get-Sandbox -Name 'pwsh-missing-sandbox' -ErrorAction Stop; 'not-reached' }
            catch { $_.FullyQualifiedErrorId; $_.CategoryInfo.Category.ToString(); $_.TargetObject }
            """);
        Assert.Equal(["SandboxNotFound,SandboxPS.Commands.GetSandboxCommand", "ObjectNotFound", "pwsh-missing-sandbox"],
            output.Select(o => o.BaseObject.ToString()));
    }

    [Fact]
    public void ErrorActionPreferenceStop_ThrowsToTheHostWithTheRecord()
    {
        using var runspace = f.OpenRunspace();
        using var ps = PowerShell.Create(runspace);
        ps.AddScript("$ErrorActionPreference = 'Stop'; Get-Sandbox -Id 'ffffffffffff0000'; 'not-reached'");
        var thrown = Assert.ThrowsAny<RuntimeException>(() => ps.Invoke());
        Assert.Equal("SandboxNotFound,SandboxPS.Commands.GetSandboxCommand", thrown.ErrorRecord.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, thrown.ErrorRecord.CategoryInfo.Category);
    }

    [Fact]
    public void NonZeroExit_WithErrorOnNonZeroExit_CarriesTheResultAsTarget()
    {
        var (_, errors) = f.RunAllowingErrors("param($sb) Invoke-SandboxAction $sb -Command 'echo some-out; exit 3' -ErrorOnNonZeroExit",
            new() { ["sb"] = f.Sandbox });
        var error = Assert.Single(errors);
        Assert.Equal("SandboxActionFailed,SandboxPS.Commands.InvokeSandboxActionCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidResult, error.CategoryInfo.Category);
        var target = PSObject.AsPSObject(error.TargetObject);
        Assert.Equal(3, target.Properties["ExitCode"].Value);
        Assert.Contains("some-out", target.Properties["Output"].Value?.ToString());
        Assert.False(string.IsNullOrWhiteSpace(error.ErrorDetails?.RecommendedAction));
    }

    [Fact]
    public void SessionPipedToRemoveSandbox_RemovesNothingAndSaysWhatToRun()
    {
        var (_, errors) = f.RunAllowingErrors("""
            param($sb)
            $session = $sb | New-SandboxSession
            $session | Remove-Sandbox -Confirm:$false
            $session | Remove-SandboxSession -Confirm:$false
            """, new() { ["sb"] = f.Sandbox });
        var error = Assert.Single(errors);
        Assert.Equal("SessionPipedToRemoveSandbox,SandboxPS.Commands.RemoveSandboxCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Equal(PwshFixture.Id(f.Sandbox), PSObject.AsPSObject(error.TargetObject).Properties["SandboxId"].Value);
        Assert.Contains("Remove-SandboxSession", error.ErrorDetails!.RecommendedAction);
        Assert.Single(f.Run("param($sb) Get-Sandbox -Id $sb.Id", new() { ["sb"] = f.Sandbox }));
    }

    [Fact]
    public void BadDuration_IsAParameterErrorNamingTheParameter()
    {
        var (_, errors) = f.RunAllowingErrors("New-Sandbox -Provider Process -TimeToLive 'ten minutes'");
        var error = Assert.Single(errors);
        Assert.StartsWith("ParameterArgumentTransformationError,", error.FullyQualifiedErrorId);
        Assert.Contains("TimeToLive", error.Exception.Message);
    }

    [Fact]
    public void WhatIf_OnRemoveSandbox_SaysWhatAndRemovesNothing()
    {
        var host = new ScriptedHost((_, _, _) => throw new InvalidOperationException("-WhatIf must not prompt"));
        using var runspace = f.OpenRunspace(host);
        using var ps = PowerShell.Create(runspace);
        ps.AddScript("param($sb) $sb | Remove-Sandbox -WhatIf").AddParameter("sb", f.Sandbox2);
        Assert.Empty(ps.Invoke());
        Assert.Empty(ps.Streams.Error);
        Assert.Contains("What if:", host.HostOutput);
        Assert.Contains(PwshFixture.Name(f.Sandbox2), host.HostOutput);
        Assert.Single(f.Run("param($sb) Get-Sandbox -Id $sb.Id", new() { ["sb"] = f.Sandbox2 }));
    }

    [Fact]
    public void WhatIf_OnInvokeSandboxAction_RunsNothing()
    {
        var marker = "whatif-" + Guid.NewGuid().ToString("N");
        var output = f.Run($$"""
            param($sb)
            Invoke-SandboxAction $sb -Command 'touch {{marker}}' -WhatIf
            (Invoke-SandboxAction $sb -Command 'test -e {{marker}} && echo exists || echo absent').Output.Trim()
            """, new() { ["sb"] = f.Sandbox });
        Assert.Equal("absent", Assert.Single(output).BaseObject);
    }

    [Fact]
    public void Confirm_AnsweredNo_KeepsTheSandbox_AnsweredYes_RemovesIt()
    {
        var sandbox = f.NewSandbox();
        var name = PwshFixture.Name(sandbox);

        var no = new ScriptedHost((_, _, choices) => ScriptedHost.Choose(choices, "No"));
        using (var runspace = f.OpenRunspace(no))
        using (var ps = PowerShell.Create(runspace))
        {
            ps.AddScript("param($n) Remove-Sandbox -Name $n -Confirm").AddParameter("n", name);
            ps.Invoke();
            Assert.Empty(ps.Streams.Error);
        }
        var prompt = Assert.Single(no.Prompts);
        Assert.Contains(name, prompt);
        Assert.Single(f.Run("param($n) Get-Sandbox -Name $n", new() { ["n"] = name }));

        // $ConfirmPreference at Medium makes Remove-Sandbox (ConfirmImpact Medium) ask without -Confirm.
        var yes = new ScriptedHost((_, _, choices) => ScriptedHost.Choose(choices, "Yes"));
        using (var runspace = f.OpenRunspace(yes))
        using (var ps = PowerShell.Create(runspace))
        {
            ps.AddScript("param($n) $ConfirmPreference = 'Medium'; Remove-Sandbox -Name $n").AddParameter("n", name);
            ps.Invoke();
            Assert.Empty(ps.Streams.Error);
        }
        Assert.Single(yes.Prompts);
        var (found, errors) = f.RunAllowingErrors("param($n) Get-Sandbox -Name $n", new() { ["n"] = name });
        Assert.Empty(found);
        Assert.Equal("SandboxNotFound,SandboxPS.Commands.GetSandboxCommand", Assert.Single(errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void DefaultConfirmPreference_DoesNotPromptForRemoveSandboxSession()
    {
        var host = new ScriptedHost((_, _, _) => throw new InvalidOperationException("must not prompt at ConfirmPreference High"));
        using var runspace = f.OpenRunspace(host);
        using var ps = PowerShell.Create(runspace);
        ps.AddScript("param($sb) $s = $sb | New-SandboxSession; $s | Remove-SandboxSession; @(Get-SandboxSession -Sandbox $sb | Where-Object Id -EQ $s.Id).Count")
            .AddParameter("sb", f.Sandbox);
        Assert.Equal(0, Assert.Single(ps.Invoke()).BaseObject);
        Assert.Empty(ps.Streams.Error);
        Assert.Empty(host.Prompts);
    }
}
