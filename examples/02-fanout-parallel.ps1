#Requires -Version 7.4
<#
.SYNOPSIS
    Fan out: ten sandboxes, one job each, in parallel; results collected; teardown guaranteed.
.DESCRIPTION
    Creates ten sandboxes (Docker when available, otherwise local processes), waits for all of them in
    parallel, runs one job per sandbox inside ForEach-Object -Parallel (SandboxPS objects have no runspace
    affinity), collects the results into a table, and removes every sandbox in finally, even on Ctrl+C.
    Every sandbox carries a run label, so a crashed run can be cleaned up with
    Get-Sandbox -Label @{ run = '<id>' } | Remove-Sandbox, and a time to live as a last resort.
.EXAMPLE
    ./examples/02-fanout-parallel.ps1 -Count 10 -ThrottleLimit 5
#>
[CmdletBinding()]
param(
    [ValidateRange(1, 100)]
    [int] $Count = 10,

    [ValidateRange(1, 64)]
    [int] $ThrottleLimit = 5,

    [ValidateSet('Docker', 'Process')]
    [string] $Provider
)

$ErrorActionPreference = 'Stop'
Import-Module SandboxPS

if (-not $Provider) {
    $Provider = try { $null = Get-Sandbox -Provider Docker; 'Docker' } catch { 'Process' }
}
$runId = [guid]::NewGuid().ToString('N').Substring(0, 8)
$label = @{ example = '02'; run = $runId }
Write-Host "Run $runId on the $Provider provider."

# -WhatIf once, to see the names before anything is created.
1..2 | ForEach-Object { "fan-$runId-$_" } | New-Sandbox -Provider $Provider -WhatIf

$sandboxes = @()
try {
    $arguments = @{ Provider = $Provider; Label = $label; TimeToLive = '20m' }
    if ($Provider -eq 'Docker') { $arguments.Image = 'sandboxps/busybox:1.35' }
    $sandboxes = @(1..$Count | ForEach-Object { "fan-$runId-$_" } | New-Sandbox @arguments)
    # All waits run at once, with one progress bar.
    $sandboxes | Wait-SandboxReady -TimeoutSec 120

    $modulePath = (Get-Module SandboxPS).Path
    $results = $sandboxes | ForEach-Object -ThrottleLimit $ThrottleLimit -Parallel {
        Import-Module $using:modulePath
        $sandbox = $_
        # The "job": some work that takes a moment and produces a number.
        $job = Invoke-SandboxAction -Sandbox $sandbox -Command 'n=0; for i in 1 2 3 4 5 6 7 8 9 10; do n=$((n + i)); done; echo $n' -TimeoutSec 60
        [pscustomobject]@{
            Sandbox  = $sandbox.Name
            ExitCode = $job.ExitCode
            Answer   = $job.Output.Trim()
            Seconds  = [math]::Round($job.Duration.TotalSeconds, 3)
        }
    }
    $results | Sort-Object Sandbox | Format-Table -AutoSize
    $wrong = @($results | Where-Object { $_.ExitCode -ne 0 -or $_.Answer -ne '55' })
    if ($wrong.Count) { throw "$($wrong.Count) of $Count jobs failed." }
    Write-Host "All $Count jobs answered 55."
}
finally {
    # Teardown even after errors or Ctrl+C; removal of what is gone succeeds, so this never masks the first error.
    Get-Sandbox -Label $label -WarningAction SilentlyContinue | Remove-Sandbox -Confirm:$false
}
