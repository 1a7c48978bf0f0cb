# Dot-sourced by every test file, in BeforeDiscovery and in BeforeAll. Imports the STAGED module
# (out/SandboxPS/<version>, or $env:SANDBOXPS_TEST_MODULE set by Invoke-Tests.ps1), never src/.

$script:RepoRoot = (Resolve-Path -LiteralPath (Join-Path $PSScriptRoot '../..')).ProviderPath
$script:ModulePath = if ($env:SANDBOXPS_TEST_MODULE) {
    $env:SANDBOXPS_TEST_MODULE
}
else {
    $props = [xml](Get-Content -Raw -LiteralPath (Join-Path $script:RepoRoot 'Directory.Build.props'))
    $version = $props.SelectSingleNode('/Project/PropertyGroup/ModuleVersion').InnerText.Trim()
    Join-Path $script:RepoRoot "out/SandboxPS/$version"
}
$script:ManifestPath = Join-Path $script:ModulePath 'SandboxPS.psd1'
if (-not (Get-Module -Name SandboxPS)) {
    Import-Module -Name $script:ManifestPath -ErrorAction Stop
}

# Every sandbox a test creates carries this label, so clean-up removes exactly this run's sandboxes.
$script:RunLabel = @{ 'org.sandboxps.test' = "pester-$PID" }
$script:BusyboxImage = 'sandboxps/busybox:1.35'
$script:PythonImage = 'sandboxps/python:3.11-bookworm'

function New-TestName {
    # Names are pester-<guid>, unique across parallel runs.
    "pester-$([guid]::NewGuid().ToString('N').Substring(0, 12))"
}

function New-TestSandbox {
    # A ready sandbox of this run: process provider unless -Provider Docker.
    param(
        [ValidateSet('Process', 'Docker')] [string] $Provider = 'Process',
        [string] $Image,
        [hashtable] $Extra = @{}
    )
    $arguments = @{ Name = (New-TestName); Provider = $Provider; Label = $script:RunLabel; TimeToLive = '10m'; Wait = $true; TimeoutSec = 60 }
    if ($Image) { $arguments.Image = $Image }
    foreach ($key in $Extra.Keys) { $arguments[$key] = $Extra[$key] }
    New-Sandbox @arguments -ErrorAction Stop
}

function Remove-TestSandboxes {
    # Removes every sandbox of this run, whatever state the tests left them in.
    Get-Sandbox -Label $script:RunLabel -WarningAction SilentlyContinue -ErrorAction SilentlyContinue |
        Remove-Sandbox -Confirm:$false -ErrorAction SilentlyContinue
}

function Test-DockerAvailable {
    # A live probe: the engine answers and the offline test image exists. Never guessed from env vars alone.
    try {
        $null = Get-Sandbox -Provider Docker -ErrorAction Stop -WarningAction SilentlyContinue
    }
    catch {
        return $false
    }
    if (Get-Command -Name docker -CommandType Application -ErrorAction SilentlyContinue) {
        & docker image inspect $script:BusyboxImage *> $null
        return $LASTEXITCODE -eq 0
    }
    $true
}

function Test-Python3Available {
    [bool](Get-Command -Name python3 -CommandType Application -ErrorAction SilentlyContinue)
}

function Invoke-AndStop {
    <#
        Runs $ScriptBlock in a new runspace (module imported), stops it after $StopAfterSeconds like Ctrl+C,
        and returns how long the stop took and what the pipeline ended with.
    #>
    param(
        [Parameter(Mandatory)] [scriptblock] $ScriptBlock,
        [object[]] $ArgumentList = @(),
        [double] $StopAfterSeconds = 1
    )
    $ps = [powershell]::Create()
    try {
        # The import runs as a pipeline of its own: with both in one PowerShell object (AddStatement),
        # PowerShell itself records a PipelineStopped error for the stopped statement (Start-Sleep too),
        # which is not what a user's Ctrl+C at the prompt shows.
        $null = $ps.AddScript("Import-Module -Name '$($script:ManifestPath)' -ErrorAction Stop").Invoke()
        if ($ps.HadErrors) { throw "Import-Module failed in the stop runspace: $($ps.Streams.Error | Select-Object -First 1)" }
        $ps.Commands.Clear()
        $ps.Streams.ClearStreams()
        $null = $ps.AddScript($ScriptBlock.ToString())
        foreach ($argument in $ArgumentList) { $null = $ps.AddArgument($argument) }
        $async = $ps.BeginInvoke()
        Start-Sleep -Seconds $StopAfterSeconds
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        $ps.Stop()
        $clock.Stop()
        $endState = $ps.InvocationStateInfo.State
        $reason = $ps.InvocationStateInfo.Reason
        $errors = @($ps.Streams.Error)
        [pscustomobject]@{
            StopSeconds = $clock.Elapsed.TotalSeconds
            State       = $endState
            Reason      = $reason
            Errors      = $errors
            Completed   = $async.IsCompleted
        }
    }
    finally {
        $ps.Dispose()
    }
}
