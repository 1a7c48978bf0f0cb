using System.Management.Automation;

namespace SandboxPS.Pwsh.Tests;

/// <summary>Ctrl+C (StopProcessing), -Stream, downstream stops and ForEach-Object -Parallel.</summary>
[Collection(PwshCollection.Name)]
public sealed class StopStreamParallelTests(PwshFixture f)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30); // against hangs only

    [Fact]
    public void Stop_InterruptsARunningExec_KillsItsProcess_AndLeavesTheSandboxUsable()
    {
        var tag = "pwshstop" + Guid.NewGuid().ToString("N");
        using var runspace = f.OpenRunspace();
        using var ps = PowerShell.Create(runspace);
        ps.AddScript($"param($sb) Invoke-SandboxAction $sb -ArgumentList 'sh', '-c', 'sleep 120; echo {tag}'").AddParameter("sb", f.Sandbox);
        var async = ps.BeginInvoke();
        Assert.True(PwshFixture.WaitUntil(() => PwshFixture.ProcessesTagged(tag).Count > 0, Bound), "the command never started");

        ps.Stop(); // what Ctrl+C does to the running pipeline

        Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
        Assert.Throws<PipelineStoppedException>(() => ps.EndInvoke(async));
        Assert.Empty(ps.Streams.Error);
        Assert.True(PwshFixture.WaitUntil(() => PwshFixture.ProcessesTagged(tag).Count == 0, Bound),
            "the sandboxed process outlived the stop: " + string.Join(",", PwshFixture.ProcessesTagged(tag)));
        var after = f.Run("param($sb) (Invoke-SandboxAction $sb -Command 'echo after-stop').Output.Trim()", new() { ["sb"] = f.Sandbox });
        Assert.Equal("after-stop", Assert.Single(after).BaseObject);
    }

    [Fact]
    public void Stop_InterruptsAShellCommand_AndTheSessionRunsTheNextOne()
    {
        using var runspace = f.OpenRunspace();
        var session = f.Run("param($sb) $sb | New-SandboxSession", new() { ["sb"] = f.Sandbox }).Single();
        using var ps = PowerShell.Create(runspace);
        ps.AddScript("param($s) $s | Invoke-SandboxAction -Command 'echo started; sleep 120' -Stream").AddParameter("s", session);
        var started = new ManualResetEventSlim();
        ps.Streams.Information.DataAdded += (_, _) => started.Set();
        var async = ps.BeginInvoke();
        Assert.True(started.Wait(Bound), "no streamed line arrived");
        Assert.Equal(PSInvocationState.Running, ps.InvocationStateInfo.State); // streamed while still running

        ps.Stop();

        Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
        Assert.Empty(ps.Streams.Error);
        // The stop interrupts the command and waits for the session within the pump's drain grace; on a
        // loaded machine the session can still be finishing after that, so SessionBusy is retried, for less
        // time than the interrupted sleep (120 s) would take: only an interrupt frees it within the bound.
        PSObject? next = null;
        Assert.True(PwshFixture.WaitUntil(() =>
        {
            var (output, errors) = f.RunAllowingErrors("param($s) $s | Invoke-SandboxAction -Command 'echo next' -TimeoutSec 30", new() { ["s"] = session });
            if (errors.Count > 0)
            {
                Assert.Equal("SessionBusy,SandboxPS.Commands.InvokeSandboxActionCommand", errors[0].FullyQualifiedErrorId);
                return false;
            }
            next = output.Single();
            return true;
        }, Bound), "the session stayed busy: the interrupt did not reach the command");
        Assert.Equal("next", ((string)next!.Properties["Output"].Value).Trim());
        Assert.Equal(false, next.Properties["TimedOut"].Value);
        f.Run("param($s) $s | Remove-SandboxSession -Confirm:$false", new() { ["s"] = session });
    }

    [Fact]
    public void Stream_WritesEachLineAsTaggedInformation_AndStillReturnsTheResult()
    {
        using var runspace = f.OpenRunspace();
        using var ps = PowerShell.Create(runspace);
        ps.AddScript("param($sb) Invoke-SandboxAction $sb -Command 'for i in 1 2 3; do echo line$i; done; echo oops >&2' -Stream").AddParameter("sb", f.Sandbox);
        var result = Assert.Single(ps.Invoke());
        Assert.Equal(0, result.Properties["ExitCode"].Value);
        var records = ps.Streams.Information.ToList();
        var lines = records.Select(r => r.MessageData is HostInformationMessage m ? m.Message : r.MessageData?.ToString()).ToList();
        Assert.Equal(["line1", "line2", "line3"], lines.Where(l => l!.StartsWith("line", StringComparison.Ordinal)));
        Assert.Contains("oops", lines);
        Assert.All(records, r => Assert.Contains("SandboxOutput", r.Tags));
    }

    [Fact]
    public void SelectFirst_StopsTheUpstreamCmdletWithoutAnError()
    {
        var output = f.Run("""
            param($sb)
            $results = 1..5 | ForEach-Object { $sb } | Invoke-SandboxAction -Command 'echo one' | Select-Object -First 2
            @($results).Count
            """, new() { ["sb"] = f.Sandbox });
        Assert.Equal(2, Assert.Single(output).BaseObject);
    }

    [Fact]
    public void ForEachObjectParallel_UsesSandboxesAndSessionsMadeInAnotherRunspace()
    {
        var session = f.Run("param($sb) $sb | New-SandboxSession", new() { ["sb"] = f.Sandbox2 }).Single();
        var output = f.Run("""
            param($sb, $sb2, $session, $manifest)
            1..4 | ForEach-Object -ThrottleLimit 4 -Parallel {
                Import-Module -Name $using:manifest -ErrorAction Stop
                $target = if ($_ % 2) { $using:sb } else { $using:sb2 }
                $r = $target | Invoke-SandboxAction -ArgumentList 'echo', "n$_"
                '{0}:{1}' -f $r.SandboxId, $r.Stdout.Trim()
            }
            # A session object crossing into parallel runspaces: Get-Sandbox resolves its sandbox there.
            1..2 | ForEach-Object -Parallel { Import-Module -Name $using:manifest; ($using:session | Get-Sandbox).Id }
            """, new() { ["sb"] = f.Sandbox, ["sb2"] = f.Sandbox2, ["session"] = session, ["manifest"] = f.ModuleManifest });
        var lines = output.Select(o => o.BaseObject.ToString()).ToList();
        string a = PwshFixture.Id(f.Sandbox), b = PwshFixture.Id(f.Sandbox2);
        Assert.Equal(new[] { $"{a}:n1", $"{b}:n2", $"{a}:n3", $"{b}:n4" }.Order(), lines.Take(4).Order());
        Assert.Equal([b, b], lines.Skip(4));
        f.Run("param($s) $s | Remove-SandboxSession -Confirm:$false", new() { ["s"] = session });
    }
}
