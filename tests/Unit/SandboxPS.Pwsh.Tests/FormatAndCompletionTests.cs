using System.Management.Automation;

namespace SandboxPS.Pwsh.Tests;

/// <summary>The default views as rendered by PowerShell's formatter, and tab completion as the console asks for it.</summary>
[Collection(PwshCollection.Name)]
public sealed class FormatAndCompletionTests(PwshFixture f)
{
    private static string[] Lines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public void SandboxTable_ShowsTheShortIdAndAFilledExpiresColumn()
    {
        var text = (string)f.Run("param($sb) $sb | Out-String -Width 250", new() { ["sb"] = f.Sandbox }).Single().BaseObject;
        var lines = Lines(text);
        Assert.Equal(["Name", "Id", "Provider", "State", "Image", "Created", "Expires"],
            lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var row = lines.Single(l => l.StartsWith(PwshFixture.Name(f.Sandbox), StringComparison.Ordinal));
        var id = PwshFixture.Id(f.Sandbox);
        Assert.Contains(" " + id[..12] + " ", row);
        Assert.DoesNotContain(id, row.Replace(id[..12], "", StringComparison.Ordinal));
        Assert.Contains("Ready", row);
        // The fixture's sandboxes have -TimeToLive 10m, so ExpiresAt is set and the column must show it.
        var expires = (DateTimeOffset)f.Sandbox.Properties["ExpiresAt"].Value;
        var shown = f.Run("param($sb) $sb.ExpiresAt.LocalDateTime.ToString('g')", new() { ["sb"] = f.Sandbox }).Single().BaseObject.ToString()!;
        Assert.NotEqual(default, expires);
        Assert.EndsWith(shown, row);
    }

    [Fact]
    public void SandboxList_ShowsUserLabelsOnly()
    {
        var text = (string)f.Run("param($sb) $sb | Format-List | Out-String -Width 250", new() { ["sb"] = f.Sandbox }).Single().BaseObject;
        var labels = Lines(text).Single(l => l.StartsWith("Labels", StringComparison.Ordinal));
        Assert.Contains($"org.sandboxps.test={f.RunLabel}", labels);
        Assert.DoesNotContain("sandboxps.", labels.Replace("org.sandboxps.test", "", StringComparison.Ordinal));
    }

    [Fact]
    public void ActionResultTable_ShowsExitCodeAndOutput()
    {
        var text = (string)f.Run("param($sb) Invoke-SandboxAction $sb -Command 'echo formatted-out; exit 4' | Out-String -Width 250",
            new() { ["sb"] = f.Sandbox }).Single().BaseObject;
        var lines = Lines(text);
        Assert.Equal(["Sandbox", "Action", "ExitCode", "Duration", "TimedOut", "Output"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var row = lines.Single(l => l.StartsWith(PwshFixture.Name(f.Sandbox), StringComparison.Ordinal));
        Assert.Matches(@"Command\s+4\s", row);
        Assert.EndsWith("formatted-out", row);
    }

    [Fact]
    public void SessionTable_ShowsIdSandboxAndKind()
    {
        var text = (string)f.Run("param($sb) $s = $sb | New-SandboxSession -Kind Shell; ($s | Out-String -Width 250); $s | Remove-SandboxSession -Confirm:$false",
            new() { ["sb"] = f.Sandbox }).Single().BaseObject;
        var lines = Lines(text);
        Assert.StartsWith("Id", lines[0]);
        Assert.Contains(lines, l => l.Contains(PwshFixture.Name(f.Sandbox), StringComparison.Ordinal) && l.Contains("shell", StringComparison.Ordinal));
    }

    private IReadOnlyList<CompletionResult> Complete(string input)
    {
        using var runspace = f.OpenRunspace();
        using var ps = PowerShell.Create(runspace);
        return CommandCompletion.CompleteInput(input, input.Length, null, ps).CompletionMatches.ToList();
    }

    [Fact]
    public void Completes_SandboxNames_FromTheProviders()
    {
        var name = PwshFixture.Name(f.Sandbox);
        var matches = Complete("Get-Sandbox -Name pwsh-");
        Assert.Contains(matches, m => m.CompletionText == name && m.ResultType == CompletionResultType.ParameterValue);
        Assert.Contains(matches, m => m.CompletionText == PwshFixture.Name(f.Sandbox2));
        Assert.All(matches, m => Assert.StartsWith("pwsh-", m.CompletionText));
        Assert.Empty(Complete("Get-Sandbox -Name nomatch-" + Guid.NewGuid().ToString("N")));
        var tooltip = matches.Single(m => m.CompletionText == name).ToolTip;
        Assert.Contains(PwshFixture.Id(f.Sandbox), tooltip);
    }

    [Fact]
    public void Completes_SessionIds_OfTheSandboxGiven()
    {
        var session = f.Run("param($sb) $sb | New-SandboxSession -Id 'pwshcompl1'", new() { ["sb"] = f.Sandbox }).Single();
        try
        {
            var matches = Complete($"Invoke-SandboxAction -Sandbox {PwshFixture.Name(f.Sandbox)} -Command true -Session pwshc");
            Assert.Contains(matches, m => m.CompletionText == "pwshcompl1");
        }
        finally
        {
            f.Run("param($s) $s | Remove-SandboxSession -Confirm:$false", new() { ["s"] = session });
        }
    }

    [Fact]
    public void Completes_RuntimeNames_KindsAndParameterNames()
    {
        Assert.NotEmpty(Complete("New-Sandbox -Runtime "));
        Assert.Equal(["Python", "Shell"], Complete("New-SandboxSession -Kind ").Select(m => m.CompletionText).Order());
        Assert.Contains(Complete("New-Sandbox -Provider "), m => m.CompletionText == "Process");
        Assert.Contains(Complete("Invoke-SandboxAction -Str"), m => m.CompletionText == "-Stream");
    }
}
