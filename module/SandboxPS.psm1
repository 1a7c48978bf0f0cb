# SandboxPS root module: loads the cmdlets into their own AssemblyLoadContext (STYLE.md 4.11), so our
# dependencies (Polly, later Azure.*) never collide with the versions other modules load.
# Only bin/SandboxPS.Loader.dll enters the default context; it has no dependencies.
Set-StrictMode -Version 3.0

$binPath = Join-Path -Path $PSScriptRoot -ChildPath 'bin'

if (-not ('SandboxPS.Loader.LoadContext' -as [type])) {
    Add-Type -Path (Join-Path -Path $binPath -ChildPath 'SandboxPS.Loader.dll')
}

# Initialize is idempotent: a re-import (Import-Module -Force) gets the assembly already loaded.
$cmdletAssembly = [SandboxPS.Loader.LoadContext]::Initialize('SandboxPS')
$innerModule = Import-Module -Assembly $cmdletAssembly -PassThru -ErrorAction Stop

# Importing the same assembly a second time hands back the cached module without attaching its
# cmdlets to this module's scope (PowerShell/PowerShell#20710): attach them ourselves.
if ($innerModule) {
    $addCmdlet = [System.Management.Automation.PSModuleInfo].GetMethod(
        'AddExportedCmdlet', [System.Reflection.BindingFlags]'Instance, NonPublic')
    if ($addCmdlet) {
        foreach ($cmdlet in $innerModule.ExportedCmdlets.Values) {
            $null = $addCmdlet.Invoke($ExecutionContext.SessionState.Module, @(, $cmdlet))
        }
    }
}

# Format and type data load here, after the types exist (they live in the SandboxPS load context).
# Type data is process-wide and a second Update-TypeData of the same members fails: load it once.
if (-not (Get-TypeData -TypeName 'SandboxPS.Core.Sandbox')) {
    Update-TypeData -PrependPath (Join-Path -Path $PSScriptRoot -ChildPath 'SandboxPS.Types.ps1xml')
}
Update-FormatData -PrependPath (Join-Path -Path $PSScriptRoot -ChildPath 'SandboxPS.Format.ps1xml')
