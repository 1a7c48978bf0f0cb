#Requires -Version 7.4
<#
.SYNOPSIS
    Runs a Python test suite in parallel sandboxes, one shard each, and collects JUnit results.
.DESCRIPTION
    Used by azure-pipelines.yml beside it, and runnable on any machine with Docker and SandboxPS:
      1. creates -ShardCount sandboxes from -Image, labelled with the build id, with a time to live;
      2. copies the sources into each (PowerShell path rules: relative paths resolve against $PWD);
      3. runs pytest on one shard of the test files per sandbox, in parallel, streaming nothing but
         collecting exit codes and JUnit XML;
      4. copies the JUnit files out to -ResultsPath and fails if any shard failed;
      5. removes the sandboxes in finally, whatever happened.
    Sharding is by file: test files are sorted and dealt round-robin, so every file runs exactly once.
.EXAMPLE
    ./run-tests-in-sandboxes.ps1 -SourcePath ./myproject -ShardCount 4 -WhatIf
.EXAMPLE
    ./run-tests-in-sandboxes.ps1 -SourcePath ./myproject -ShardCount 4 -ResultsPath ./results
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)]
    [string] $SourcePath,

    [ValidateRange(1, 32)]
    [int] $ShardCount = 4,

    [string] $Image = 'sandboxps/python:3.11-bookworm',

    [string] $BuildId = "local-$PID",

    [string] $ResultsPath = './test-results',

    [ValidateRange(60, 7200)]
    [int] $TimeoutSec = 1800,

    # The command that runs the tests; {files} and {junit} are replaced per shard.
    [string] $TestCommand = 'python3 -m pytest -q --junitxml={junit} {files}'
)

$ErrorActionPreference = 'Stop'
Import-Module SandboxPS

$source = (Resolve-Path -LiteralPath $SourcePath).ProviderPath
$results = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($ResultsPath)
$testFiles = @(Get-ChildItem -LiteralPath $source -Recurse -File -Include 'test_*.py', '*_test.py' |
    ForEach-Object { [System.IO.Path]::GetRelativePath($source, $_.FullName).Replace('\', '/') } | Sort-Object)
if ($testFiles.Count -eq 0) {
    throw "No test files (test_*.py, *_test.py) under $source."
}
$ShardCount = [math]::Min($ShardCount, $testFiles.Count)
$shards = @(for ($i = 0; $i -lt $ShardCount; $i++) {
    , @(for ($j = $i; $j -lt $testFiles.Count; $j += $ShardCount) { $testFiles[$j] })
})
Write-Host "$($testFiles.Count) test files in $ShardCount shards, image $Image, build $BuildId."

$label = @{ 'ado.build' = $BuildId; example = '03' }
$names = 1..$ShardCount | ForEach-Object { "ado-$BuildId-$_" }
if (-not $PSCmdlet.ShouldProcess("$ShardCount sandboxes from $Image", 'Run the test suite')) {
    # -WhatIf: show what New-Sandbox would create, then stop.
    $names | New-Sandbox -Image $Image -Label $label -WhatIf
    return
}

$null = New-Item -ItemType Directory -Force -Path $results
try {
    $sandboxes = @($names | New-Sandbox -Image $Image -Label $label -TimeToLive "$([math]::Ceiling($TimeoutSec / 60) + 10)m" -Cpus 1 -Memory 1g |
        Wait-SandboxReady -TimeoutSec 120 -PassThru)
    if ($sandboxes.Count -ne $ShardCount) {
        throw "Only $($sandboxes.Count) of $ShardCount sandboxes became ready."
    }

    $modulePath = (Get-Module SandboxPS).Path
    $outcomes = 0..($ShardCount - 1) | ForEach-Object -ThrottleLimit $ShardCount -Parallel {
        Import-Module $using:modulePath
        # Copies of the caller's variables: each runspace has its own, and SandboxPS objects carry no runspace state.
        $allSandboxes = $using:sandboxes
        $allShards = $using:shards
        $template = $using:TestCommand
        $resultsDirectory = $using:results
        $sourceDirectory = $using:source
        $timeout = $using:TimeoutSec
        $index = $_
        $sandbox = $allSandboxes[$index]
        $files = @($allShards[$index])
        Copy-SandboxItem -Sandbox $sandbox -ToSandbox -LiteralPath $sourceDirectory -Destination /work/src
        $junit = "/work/junit-$($index + 1).xml"
        $command = 'cd /work/src && ' + $template.Replace('{files}', ($files -join ' ')).Replace('{junit}', $junit)
        $run = Invoke-SandboxAction -Sandbox $sandbox -Command $command -TimeoutSec $timeout
        try {
            Copy-SandboxItem -Sandbox $sandbox -FromSandbox -Path $junit -Destination (Join-Path $resultsDirectory "junit-$($index + 1).xml")
        }
        catch {
            Write-Warning "Shard $($index + 1): no JUnit file ($($_.Exception.Message))."
        }
        [pscustomobject]@{
            Shard    = $index + 1
            Sandbox  = $sandbox.Name
            Files    = $files.Count
            ExitCode = $run.ExitCode
            TimedOut = $run.TimedOut
            Seconds  = [math]::Round($run.Duration.TotalSeconds, 1)
            Tail     = (($run.Output -split "`n") | Where-Object { $_ } | Select-Object -Last 3) -join ' | '
        }
    }
    $outcomes | Sort-Object Shard | Format-Table -AutoSize -Wrap
    $failed = @($outcomes | Where-Object { $_.ExitCode -ne 0 -or $_.TimedOut })
    if ($failed.Count) {
        # Azure DevOps shows this as an error on the step.
        Write-Host "##vso[task.logissue type=error]$($failed.Count) of $ShardCount test shards failed."
        throw "$($failed.Count) of $ShardCount test shards failed."
    }
}
finally {
    Get-Sandbox -Label $label -WarningAction SilentlyContinue | Remove-Sandbox -Confirm:$false
}
