#Requires -Version 7.4
<#
.SYNOPSIS
    Your first sandbox: create it, run commands, move files in and out, clean up.
.DESCRIPTION
    Uses Docker when it is available (with the offline image sandboxps/busybox:1.35), otherwise a local
    process sandbox. Safe to run repeatedly: everything it creates is removed in the finally block, and
    the sandbox has a time to live in case this script is killed.
.EXAMPLE
    ./examples/01-first-sandbox.ps1
.EXAMPLE
    ./examples/01-first-sandbox.ps1 -Provider Process
#>
[CmdletBinding()]
param(
    [ValidateSet('Docker', 'Process')]
    [string] $Provider,

    [string] $Image = 'sandboxps/busybox:1.35'
)

$ErrorActionPreference = 'Stop'
Import-Module SandboxPS

if (-not $Provider) {
    # Get-Sandbox -Provider Docker fails fast when no engine answers.
    $Provider = try { $null = Get-Sandbox -Provider Docker; 'Docker' } catch { 'Process' }
}
Write-Host "Using the $Provider provider."

# -WhatIf shows what would be created, and creates nothing.
New-Sandbox -Name 'example-first' -Provider $Provider -WhatIf

$arguments = @{ Provider = $Provider; Label = @{ example = '01' }; TimeToLive = '15m'; Wait = $true }
if ($Provider -eq 'Docker') { $arguments.Image = $Image }
$sandbox = New-Sandbox @arguments
try {
    $sandbox | Format-List

    # Commands run in a session that keeps its state between calls.
    $sandbox | Invoke-SandboxAction -Command 'mkdir -p /tmp/example && cd /tmp/example' | Out-Null
    $result = $sandbox | Invoke-SandboxAction -Command 'echo "hello from $(pwd) on $(uname -s)"'
    Write-Host $result.Output.Trim()

    # A non-zero exit code is data, not an exception.
    $failed = $sandbox | Invoke-SandboxAction -Command 'ls /does-not-exist'
    Write-Host "ls exited with $($failed.ExitCode) (succeeded: $($failed.Succeeded))"

    # Files: write, edit, read back.
    $sandbox | Invoke-SandboxAction -WriteFile /tmp/example/greeting.txt -Content "hello`n" | Out-Null
    $sandbox | Invoke-SandboxAction -Edit /tmp/example/greeting.txt -OldText 'hello' -NewText 'hello, sandbox' | Out-Null
    Write-Host ($sandbox | Invoke-SandboxAction -ReadFile /tmp/example/greeting.txt).Output

    # Copy a local folder in, and the results out, with PowerShell path rules on the local side.
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "sandboxps-example-$PID"
    $null = New-Item -ItemType Directory -Force -Path (Join-Path $work 'in')
    try {
        Set-Content -LiteralPath (Join-Path $work 'in/data.csv') -Value 'a,b', '1,2'
        Copy-SandboxItem -Path (Join-Path $work 'in') -Destination "$($sandbox.Name):/tmp/example/in"
        $sandbox | Invoke-SandboxAction -Command 'wc -l < in/data.csv > in/lines.txt' | Out-Null
        Copy-SandboxItem -Path "$($sandbox.Name):/tmp/example/in/lines.txt" -Destination (Join-Path $work 'lines.txt')
        Write-Host "data.csv has $((Get-Content -LiteralPath (Join-Path $work 'lines.txt')).Trim()) lines"
    }
    finally {
        Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
    }
}
finally {
    $sandbox | Remove-Sandbox -Confirm:$false
}
