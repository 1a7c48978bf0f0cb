BeforeDiscovery {
    . $PSScriptRoot/common.ps1
    $script:DockerAvailable = Test-DockerAvailable
    $script:Exported = @((Import-PowerShellDataFile -LiteralPath $ManifestPath).CmdletsToExport)
}

BeforeAll {
    . $PSScriptRoot/common.ps1
    $script:Manifest = Import-PowerShellDataFile -LiteralPath $ManifestPath
}

Describe 'SandboxPS module' -Tag 'Unit' {
    Context 'Manifest' {
        It 'passes Test-ModuleManifest' {
            { Test-ModuleManifest -Path $ManifestPath -ErrorAction Stop } | Should -Not -Throw
        }

        It 'carries the version of Directory.Build.props' {
            $props = [xml](Get-Content -Raw -LiteralPath (Join-Path $RepoRoot 'Directory.Build.props'))
            $expected = $props.SelectSingleNode('/Project/PropertyGroup/ModuleVersion').InnerText.Trim()
            $Manifest.ModuleVersion | Should -Be $expected
        }

        It 'exports exactly the cmdlets the manifest lists' {
            $actual = (Get-Command -Module SandboxPS -CommandType Cmdlet).Name | Sort-Object
            $actual | Should -Be ($Manifest.CmdletsToExport | Sort-Object)
        }

        It 'exports no functions, aliases or variables' {
            $module = Get-Module -Name SandboxPS
            $module.ExportedFunctions.Count | Should -Be 0
            $module.ExportedAliases.Count | Should -Be 0
            $module.ExportedVariables.Count | Should -Be 0
        }

        It 'keeps exporting every cmdlet after Import-Module -Force (PowerShell#20710)' {
            Import-Module -Name $ManifestPath -Force -ErrorAction Stop
            (Get-Command -Module SandboxPS -CommandType Cmdlet).Count | Should -Be $Manifest.CmdletsToExport.Count
        }
    }

    Context 'Dependency isolation' {
        It 'loads the core into the SandboxPS load context' {
            # Type literals ([SandboxPS.Core.Sandbox]) do not see types of a custom load context; OutputType does.
            $sandboxType = (Get-Command -Name Get-Sandbox).OutputType[0].Type
            $sandboxType.FullName | Should -Be 'SandboxPS.Core.Sandbox'
            [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($sandboxType.Assembly).Name | Should -Be 'SandboxPS'
        }

        It 'keeps its types out of PowerShell type resolution' {
            'SandboxPS.Core.Sandbox' -as [type] | Should -BeNullOrEmpty
        }

        It 'loads the cmdlets into the SandboxPS load context' {
            $cmdletType = (Get-Command -Name Get-Sandbox).ImplementingType
            [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($cmdletType.Assembly).Name | Should -Be 'SandboxPS'
        }

        It 'loads Polly from its own bin folder, not from another module' {
            $polly = [System.AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Polly.Core' -and
                [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name -eq 'SandboxPS' }
            @($polly).Count | Should -BeLessOrEqual 1
            if ($polly) { $polly.Location | Should -BeLike "$ModulePath*" }
        }

        It 'shares System.Management.Automation with PowerShell' {
            [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext([System.Management.Automation.PSObject].Assembly).Name | Should -Be 'Default'
        }

        It 'works in fresh runspaces of ForEach-Object -Parallel' {
            $path = $ManifestPath
            $counts = 1..3 | ForEach-Object -ThrottleLimit 3 -Parallel {
                Import-Module -Name $using:path -ErrorAction Stop
                (Get-Command -Module SandboxPS -CommandType Cmdlet).Count
            }
            # Parenthesised: unparenthesised, "* 3" would be two more positional arguments of Should.
            $counts | Should -Be (@($Manifest.CmdletsToExport.Count) * 3)
        }
    }

    Context 'Help of <_>' -ForEach $Exported {
        BeforeAll {
            $script:help = Get-Help -Name $_ -Full
            $script:command = Get-Command -Name $_
        }

        It 'has a synopsis' {
            $help.Synopsis | Should -Not -BeNullOrEmpty
            # Without a help file, Get-Help makes the synopsis from the syntax, which starts with the command name.
            $help.Synopsis.Trim() | Should -Not -BeLike "$($command.Name)*"
        }

        It 'has a description' {
            ($help.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty
        }

        It 'has at least one example' {
            @($help.Examples.Example).Count | Should -BeGreaterThan 0
        }

        It 'describes every parameter' {
            $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
            # DontShow parameters (Remove-Sandbox -Session, which only catches sessions piped by mistake)
            # are hidden from syntax, completion and help on purpose.
            $shown = $command.Parameters.Values | Where-Object {
                $_.Name -notin $common -and @($_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and -not $_.DontShow }).Count -gt 0
            }
            foreach ($name in $shown.Name) {
                $parameterHelp = $help.Parameters.Parameter | Where-Object Name -EQ $name
                ($parameterHelp.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty -Because "-$name needs help text"
            }
        }
    }

    Context 'Formatting' {
        BeforeAll {
            $labels = [System.Collections.Generic.Dictionary[string, string]]::new()
            $labels['team'] = 'web'
            $sandboxType = (Get-Command -Name Get-Sandbox).OutputType[0].Type
            $script:sample = $sandboxType::new('0123456789abcdef0123', 'fmt-1', 'docker', 'Ready', 'http://127.0.0.1:1',
                'sandboxps/busybox:1.35', $null, $labels, [datetimeoffset]::UtcNow, $null)
        }

        It 'has table and list views for <_>' -ForEach @('SandboxPS.Core.Sandbox', 'SandboxPS.Core.SandboxActionResult') {
            $controls = (Get-FormatData -TypeName $_).FormatViewDefinition | ForEach-Object { $_.Control.GetType().Name }
            $controls | Should -Contain 'TableControl'
            $controls | Should -Contain 'ListControl'
        }

        It 'has a table view for <_>' -ForEach @('SandboxPS.Core.SandboxSession', 'SandboxPS.Core.Runtimes.RuntimeConfig') {
            (Get-FormatData -TypeName $_).FormatViewDefinition | ForEach-Object { $_.Control.GetType().Name } | Should -Contain 'TableControl'
        }

        It 'renders a sandbox as a table with a 12-character id' {
            $text = $sample | Format-Table | Out-String
            $text | Should -Match 'fmt-1'
            $text | Should -Match '0123456789ab\b'
            $text | Should -Not -Match '0123456789abcdef0123'
        }

        It 'renders a sandbox as a list with user labels only' {
            $text = $sample | Format-List | Out-String
            $text | Should -Match 'team=web'
        }

        It 'gives sandboxes a SandboxId alias for pipeline binding' {
            $sample.SandboxId | Should -Be $sample.Id
        }
    }

    Context 'Errors' {
        It 'reports a missing sandbox with a stable id' {
            { Get-Sandbox -Name 'pester-does-not-exist' -ErrorAction Stop } |
                Should -Throw -ErrorId 'SandboxNotFound,SandboxPS.Commands.GetSandboxCommand'
        }

        It 'puts a recommended action in ErrorDetails' {
            Get-Sandbox -Name 'pester-does-not-exist' -ErrorAction SilentlyContinue -ErrorVariable err
            $err[0].ErrorDetails.RecommendedAction | Should -BeLike '*Get-Sandbox*'
            $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        }
    }
}

Describe 'SandboxPS end to end on Docker' -Tag 'Docker' -Skip:(-not $DockerAvailable) {
    BeforeAll {
        $script:sb = New-TestSandbox -Provider Docker -Image $BusyboxImage
    }

    AfterAll {
        Remove-TestSandboxes
    }

    It 'creates a ready container sandbox' {
        $sb.State | Should -Be 'Ready'
        $sb.Provider | Should -Be 'docker'
        $sb.Image | Should -Be $BusyboxImage
    }

    It 'runs commands with state kept between calls' {
        $sb | Invoke-SandboxAction -Command 'cd /tmp && export X=42' | Out-Null
        ($sb | Invoke-SandboxAction -Command 'echo "$X $(pwd)"').Output.Trim() | Should -Be '42 /tmp'
    }

    It 'copies a directory in and out' {
        $src = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'src')
        Set-Content -LiteralPath (Join-Path $src 'a.txt') -Value 'alpha'
        Copy-SandboxItem -Path $src -Destination "$($sb.Name):/tmp/in" -ErrorAction Stop
        ($sb | Invoke-SandboxAction -Command 'cat /tmp/in/a.txt').Output.Trim() | Should -Be 'alpha'
        Copy-SandboxItem -Path "$($sb.Name):/tmp/in" -Destination (Join-Path $TestDrive 'out') -ErrorAction Stop
        Get-Content -LiteralPath (Join-Path $TestDrive 'out/a.txt') | Should -Be 'alpha'
    }

    It 'is found from another runspace by name' {
        $name = $sb.Name
        $found = 1 | ForEach-Object -Parallel {
            Import-Module -Name $using:ManifestPath
            (Get-Sandbox -Name $using:name).Id
        }
        $found | Should -Be $sb.Id
    }

    It 'is removed, and removing it again succeeds' {
        $sb | Remove-Sandbox -Confirm:$false
        { $sb | Remove-Sandbox -Confirm:$false -ErrorAction Stop } | Should -Not -Throw
        Get-Sandbox -Name $sb.Name -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}
