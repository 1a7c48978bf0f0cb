#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, packages and cleans SandboxPS. Plain PowerShell: no build modules needed.
.DESCRIPTION
    Every task is a thin wrapper over the dotnet commands that also run without PowerShell
    (scripts/test.sh, CI), so both paths build the same thing:
      Build    dotnet publish src/SandboxPS -c <Configuration>; the publish stages the importable
               module at out/SandboxPS/<ModuleVersion>/ (MSBuild target StageModule) and fails if
               System.Management.Automation or Microsoft.PowerShell.* would be staged.
      Test     dotnet test of the unit test projects (unless -SkipUnit), then Pester 5 in a child
               pwsh, so the built SandboxPS.dll never gets locked by this session.
      Package  publishes the staged module to a temporary local PSResource repository
               (artifacts/psrepo) and unregisters it again.
      Clean    removes out/, artifacts/ and every bin/ and obj/.
.EXAMPLE
    ./build.ps1 -Task Build, Test -Configuration Release
.EXAMPLE
    ./build.ps1 -Task Test -SkipUnit -PesterTag Unit
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package', 'Clean')]
    [string[]] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Debug',

    # Skip the xUnit layer (scripts/test.sh has run it already).
    [switch] $SkipUnit,

    # Run only Pester tests with these tags (Unit, Docker); all by default.
    [string[]] $PesterTag,

    # Pester tests with these tags are skipped.
    [string[]] $PesterExcludeTag,

    # Test and Package use the module already staged at out/SandboxPS/<version> instead of publishing first.
    [switch] $NoBuild
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$RepoRoot = $PSScriptRoot
$script:Built = $false

function Invoke-Dotnet {
    param([Parameter(Mandatory)][string[]] $Arguments)
    Write-Host "dotnet $($Arguments -join ' ')" -ForegroundColor Cyan
    & dotnet @Arguments
    if ($LASTEXITCODE) { throw "dotnet $($Arguments[0]) failed with exit code $LASTEXITCODE." }
}

function Get-ModuleVersion {
    $props = [xml](Get-Content -Raw -LiteralPath (Join-Path $RepoRoot 'Directory.Build.props'))
    $node = $props.SelectSingleNode('/Project/PropertyGroup/ModuleVersion')
    if (-not $node -or -not $node.InnerText) { throw 'ModuleVersion is missing from Directory.Build.props.' }
    $node.InnerText.Trim()
}

function Get-StagedModulePath {
    Join-Path $RepoRoot "out/SandboxPS/$(Get-ModuleVersion)"
}

function Invoke-Build {
    Invoke-Dotnet 'publish', (Join-Path $RepoRoot 'src/SandboxPS/SandboxPS.csproj'), '-c', $Configuration, '--nologo'
    $staged = Get-StagedModulePath
    foreach ($file in 'SandboxPS.psd1', 'SandboxPS.psm1', 'SandboxPS.Format.ps1xml', 'en-US/SandboxPS.dll-Help.xml',
                      'bin/SandboxPS.dll', 'bin/SandboxPS.Core.dll', 'bin/SandboxPS.Loader.dll', 'bin/sandboxps-server') {
        if (-not (Test-Path -LiteralPath (Join-Path $staged $file))) { throw "Staging is incomplete: $file is missing from $staged." }
    }
    $forbidden = Get-ChildItem -LiteralPath (Join-Path $staged 'bin') -File |
        Where-Object { $_.Name -like 'System.Management.Automation*' -or $_.Name -like 'Microsoft.PowerShell.*' }
    if ($forbidden) { throw "PowerShell's own assemblies must not be staged: $($forbidden.Name -join ', ')." }
    $manifest = Test-ModuleManifest -Path (Join-Path $staged 'SandboxPS.psd1') -ErrorAction Stop
    Write-Host "Staged SandboxPS $($manifest.Version) at $staged" -ForegroundColor Green
    $script:Built = $true
}

function Invoke-Test {
    if (-not $SkipUnit) {
        Get-ChildItem -Path (Join-Path $RepoRoot 'tests/Unit') -Filter '*.csproj' -Recurse | ForEach-Object {
            Invoke-Dotnet 'test', $_.FullName, '-c', $Configuration, '--nologo'
        }
    }
    # Always stage this build's module, so Pester never runs a stale copy (-NoBuild: scripts/test.sh staged it).
    if (-not $NoBuild -and -not $script:Built) { Invoke-Build }
    $staged = Get-StagedModulePath
    # The pwsh running this script; a child of the same version runs Pester.
    $pwsh = [System.Environment]::ProcessPath
    if (-not $pwsh -or [System.IO.Path]::GetFileNameWithoutExtension($pwsh) -ne 'pwsh') {
        $command = Get-Command -Name pwsh -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
        if (-not $command) {
            Write-Warning 'Pester layer skipped (pwsh not available).'
            return
        }
        $pwsh = $command.Source
    }
    # Pester 5.7.1 lives in .tools/modules (scripts/setup-pwsh.sh installs it, a no-op when present);
    # the child pwsh finds it first on its PSModulePath.
    $toolModules = Join-Path $RepoRoot '.tools/modules'
    if (-not (Test-Path -LiteralPath (Join-Path $toolModules 'Pester/5.7.1/Pester.psd1'))) {
        & bash (Join-Path $RepoRoot 'scripts/setup-pwsh.sh')
        if ($LASTEXITCODE) { throw "scripts/setup-pwsh.sh failed with exit code $LASTEXITCODE (it installs Pester 5.7.1)." }
    }
    $env:PSModulePath = $toolModules + [System.IO.Path]::PathSeparator + $env:PSModulePath
    # A child process: the module's assemblies load there, never into this build session.
    $arguments = @('-NoProfile', '-NonInteractive', '-File', (Join-Path $RepoRoot 'tests/Pester/Invoke-Tests.ps1'), '-ModulePath', $staged)
    if ($PesterTag) { $arguments += @('-Tag', ($PesterTag -join ',')) }
    if ($PesterExcludeTag) { $arguments += @('-ExcludeTag', ($PesterExcludeTag -join ',')) }
    & $pwsh @arguments
    if ($LASTEXITCODE) { throw 'Pester failed (failed tests or a broken run; see the "Pester:" line above).' }
}

function Invoke-Package {
    $staged = Get-StagedModulePath
    if (-not (Test-Path -LiteralPath (Join-Path $staged 'SandboxPS.psd1'))) {
        Invoke-Build
    }
    $repoPath = Join-Path $RepoRoot 'artifacts/psrepo'
    $null = New-Item -ItemType Directory -Force -Path $repoPath
    $repoName = "SandboxPS-local-$PID"
    if (Get-Command -Name Publish-PSResource -ErrorAction SilentlyContinue) {
        Register-PSResourceRepository -Name $repoName -Uri $repoPath -Trusted
        try {
            Publish-PSResource -Path $staged -Repository $repoName
        }
        finally {
            Unregister-PSResourceRepository -Name $repoName
        }
    }
    else {
        Register-PSRepository -Name $repoName -SourceLocation $repoPath -PublishLocation $repoPath -InstallationPolicy Trusted
        try {
            Publish-Module -Path $staged -Repository $repoName
        }
        finally {
            Unregister-PSRepository -Name $repoName
        }
    }
    Get-ChildItem -LiteralPath $repoPath -Filter 'SandboxPS.*.nupkg' | ForEach-Object { Write-Host "Package: $($_.FullName)" -ForegroundColor Green }
}

function Invoke-Clean {
    foreach ($path in 'out', 'artifacts') {
        Remove-Item -LiteralPath (Join-Path $RepoRoot $path) -Recurse -Force -ErrorAction SilentlyContinue
    }
    Get-ChildItem -Path (Join-Path $RepoRoot 'src'), (Join-Path $RepoRoot 'tests'), (Join-Path $RepoRoot 'tools'), (Join-Path $RepoRoot 'bench') `
        -Directory -Recurse -Include 'bin', 'obj' -ErrorAction SilentlyContinue |
        Remove-Item -Recurse -Force -ErrorAction SilentlyContinue
}

foreach ($step in $Task) {
    Write-Host "== $step ($Configuration)" -ForegroundColor Yellow
    switch ($step) {
        'Build' { Invoke-Build }
        'Test' { Invoke-Test }
        'Package' { Invoke-Package }
        'Clean' { Invoke-Clean }
    }
}
