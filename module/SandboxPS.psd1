#
# Module manifest for SandboxPS. {{ModuleVersion}} is stamped at staging from Directory.Build.props
# (src/SandboxPS/SandboxPS.csproj, target StageModule). Export lists are explicit: never wildcards.
#
@{
    RootModule           = 'SandboxPS.psm1'
    ModuleVersion        = '{{ModuleVersion}}'
    CompatiblePSEditions = @('Core')
    PowerShellVersion    = '7.4'
    GUID                 = '9cbc03d1-99d2-4e01-912b-900b7238d1b2'
    Author               = 'SandboxPS contributors'
    CompanyName          = 'SandboxPS'
    Copyright            = '(c) SandboxPS contributors. All rights reserved.'
    Description          = 'Create, drive and dispose of sandboxes (local processes, Docker containers) from PowerShell: run commands, Python and file edits inside them, copy files in and out, and clean up reliably.'

    # The psm1 loads bin/SandboxPS.dll into its own AssemblyLoadContext, then the format and type
    # data below it, so FormatsToProcess and TypesToProcess stay empty on purpose.
    CmdletsToExport      = @(
        'New-Sandbox'
        'Get-Sandbox'
        'Wait-SandboxReady'
        'Invoke-SandboxAction'
        'New-SandboxSession'
        'Get-SandboxSession'
        'Remove-SandboxSession'
        'Copy-SandboxItem'
        'Remove-Sandbox'
        'Get-SandboxRuntime'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()

    PrivateData          = @{
        PSData = @{
            Tags         = @('Sandbox', 'Docker', 'Containers', 'Isolation', 'CI', 'PSEdition_Core', 'Linux')
            ProjectUri   = 'https://github.com/sandboxps/SandboxPS'
            LicenseUri   = 'https://github.com/sandboxps/SandboxPS/blob/main/LICENSE'
            ReleaseNotes = 'See CHANGELOG.md'
        }
    }
}
