#Requires -Version 7.4
<#
.SYNOPSIS
    Runs the Pester 5 layer against a staged module. build.ps1 starts it in a child pwsh.
.EXAMPLE
    pwsh -NoProfile -File tests/Pester/Invoke-Tests.ps1 -ModulePath out/SandboxPS/0.1.0 -Tag Unit
#>
[CmdletBinding()]
param(
    # The staged module folder (out/SandboxPS/<version>), never src/.
    [Parameter(Mandatory)]
    [string] $ModulePath,

    # Only tests with these tags (comma-separated values are split): Unit, Process, Docker.
    [string[]] $Tag,

    # Skip tests with these tags.
    [string[]] $ExcludeTag,

    # Write NUnit XML results here (CI).
    [string] $ResultPath
)

$ErrorActionPreference = 'Stop'
Import-Module -Name Pester -MinimumVersion 5.0 -ErrorAction Stop

$resolved = (Resolve-Path -LiteralPath $ModulePath).ProviderPath
if (-not (Test-Path -LiteralPath (Join-Path $resolved 'SandboxPS.psd1'))) {
    throw "$resolved does not hold SandboxPS.psd1; build it first (./build.ps1 -Task Build)."
}
# common.ps1 imports the module from here, in every test file and in every runspace the tests start.
$env:SANDBOXPS_TEST_MODULE = $resolved

# Process sandboxes of this run live in a state directory of their own, so parallel runs (other people,
# other CI jobs) never see or remove each other's sandboxes.
if (-not $env:SANDBOXPS_STATE_DIR) {
    $env:SANDBOXPS_STATE_DIR = Join-Path ([System.IO.Path]::GetTempPath()) "sandboxps-pester-$PID"
}
$null = New-Item -ItemType Directory -Force -Path $env:SANDBOXPS_STATE_DIR

$config = New-PesterConfiguration
$config.Run.Path = $PSScriptRoot
$config.Run.PassThru = $true
$config.Run.Exit = $false
$config.Output.Verbosity = 'Detailed'
# Plain text in logs (CI, scripts/test.sh's tee); colours only on a terminal.
if ([Console]::IsOutputRedirected -or $env:CI) { $config.Output.RenderMode = 'Plaintext' }
if ($Tag) { $config.Filter.Tag = @($Tag -split ',' | ForEach-Object Trim | Where-Object { $_ }) }
if ($ExcludeTag) { $config.Filter.ExcludeTag = @($ExcludeTag -split ',' | ForEach-Object Trim | Where-Object { $_ }) }
if ($ResultPath) {
    $config.TestResult.Enabled = $true
    $config.TestResult.OutputPath = $ResultPath
    $config.TestResult.OutputFormat = 'NUnitXml'
}

try {
    $result = Invoke-Pester -Configuration $config
}
finally {
    if ($env:SANDBOXPS_STATE_DIR -like '*sandboxps-pester-*') {
        Remove-Item -LiteralPath $env:SANDBOXPS_STATE_DIR -Recurse -Force -ErrorAction SilentlyContinue
    }
}
$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
Write-Host "Pester: $($result.PassedCount) passed, $failed failed, $($result.SkippedCount) skipped"
# 0 or 1: an exit code is a byte, and 256 failures must not read as success.
exit ([int]($failed -gt 0))
