#Requires -Version 7.4
<#
.SYNOPSIS
    Keyed reuse: find the sandbox named after a key, or create it; reuse it across script runs.
.DESCRIPTION
    Expensive environments (a built runtime, installed dependencies, a warm cache) are worth keeping
    between runs. This script derives a sandbox name from a key (say, a branch), reuses that sandbox if a
    previous run left it, and creates it otherwise. Sandboxes are found by name from any process, with no
    token or secret passed around. The idle timeout removes a forgotten sandbox on its own; -Reset removes
    it now.
.EXAMPLE
    ./examples/04-keyed-reuse.ps1 -Key feature-x      # first run creates, next runs reuse
.EXAMPLE
    ./examples/04-keyed-reuse.ps1 -Key feature-x -Reset
#>
[CmdletBinding()]
param(
    [ValidatePattern('^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$')]
    [string] $Key = 'default',

    [ValidateSet('Docker', 'Process')]
    [string] $Provider,

    # Remove the keyed sandbox instead of using it.
    [switch] $Reset
)

$ErrorActionPreference = 'Stop'
Import-Module SandboxPS

$name = "keyed-$Key"
if ($Reset) {
    Remove-Sandbox -Name $name -WhatIf
    Remove-Sandbox -Name $name -Confirm:$false
    Write-Host "Removed $name (if it existed)."
    return
}
if (-not $Provider) {
    $Provider = try { $null = Get-Sandbox -Provider Docker; 'Docker' } catch { 'Process' }
}

function Get-KeyedSandbox {
    param([string] $Name, [string] $Provider)
    # Reuse only a sandbox that still answers; a stopped one is removed and made again.
    $existing = Get-Sandbox -Name $Name -ErrorAction SilentlyContinue
    if ($existing -and $existing.State -in 'Ready', 'Running', 'Starting') {
        try {
            return $existing | Wait-SandboxReady -TimeoutSec 10 -PassThru -ErrorAction Stop
        }
        catch {
            Write-Warning "$Name exists but does not answer ($($_.Exception.Message)); making it again."
        }
    }
    if ($existing) {
        $existing | Remove-Sandbox -Confirm:$false
    }
    $arguments = @{ Name = $Name; Provider = $Provider; Label = @{ example = '04'; key = $Key }; IdleTimeout = '2h'; Wait = $true }
    if ($Provider -eq 'Docker') { $arguments.Image = 'sandboxps/busybox:1.35' }
    try {
        New-Sandbox @arguments
    }
    catch {
        # Another run created it at the same moment (SandboxNameInUse): use that one.
        if ($_.FullyQualifiedErrorId -like 'SandboxNameInUse,*') {
            Get-Sandbox -Name $Name | Wait-SandboxReady -PassThru
        }
        else {
            throw
        }
    }
}

$sandbox = Get-KeyedSandbox -Name $name -Provider $Provider
$healthy = $false
try {
    # State that survives between runs: a counter file inside the sandbox.
    $run = $sandbox | Invoke-SandboxAction -Command 'f=/tmp/keyed-runs; n=$(cat $f 2>/dev/null || echo 0); n=$((n + 1)); echo $n > $f; echo $n' -ErrorOnNonZeroExit
    Write-Host "Run number $($run.Output.Trim()) in $($sandbox.Name) ($($sandbox.Provider), created $($sandbox.CreatedAt.LocalDateTime))."
    $healthy = $true
}
finally {
    # The sandbox is kept on purpose: that is the point. A run that failed removes it, so the next run
    # starts from a clean one instead of reusing a half-configured environment.
    if (-not $healthy) {
        $sandbox | Remove-Sandbox -Confirm:$false
    }
}
Write-Host "Run again to reuse it, or remove it with: ./examples/04-keyed-reuse.ps1 -Key $Key -Reset"
