BeforeAll {
    . $PSScriptRoot/common.ps1
}

AfterAll {
    Remove-TestSandboxes
}

Describe 'New-SandboxSession' -Tag 'Unit' {
    It 'offers Shell and Python' {
        $validateSet = (Get-Command New-SandboxSession).Parameters['Kind'].Attributes |
            Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] }
        $validateSet.ValidValues | Should -Be @('Shell', 'Python')
    }
}

Describe 'New-SandboxSession on the process provider' -Tag 'Process' {
    BeforeAll {
        $script:sb = New-TestSandbox
    }

    It 'starts a shell session with the given id and directory' {
        $s = $sb | New-SandboxSession -Id 'pester-shell' -WorkingDirectory $TestDrive
        $s.GetType().FullName | Should -Be 'SandboxPS.Core.SandboxSession'
        $s.Id | Should -Be 'pester-shell'
        $s.SandboxId | Should -Be $sb.Id
        $s.Kind | Should -Be 'shell'
    }

    It 'runs piped session objects in their own session' {
        $s = New-SandboxSession -Sandbox $sb -WorkingDirectory $TestDrive
        Invoke-SandboxAction $sb -Command 'cd /' | Out-Null
        ($s | Invoke-SandboxAction -Command 'pwd').Output.Trim() | Should -Be $TestDrive
    }

    It 'refuses an id that is taken' {
        New-SandboxSession -Sandbox $sb -Id 'pester-dup' | Out-Null
        { New-SandboxSession -Sandbox $sb -Id 'pester-dup' -ErrorAction Stop } |
            Should -Throw -ErrorId 'SessionExists,SandboxPS.Commands.NewSandboxSessionCommand'
    }

    It 'creates nothing with -WhatIf' {
        New-SandboxSession -Sandbox $sb -Id 'pester-whatif' -WhatIf | Should -BeNullOrEmpty
        Get-SandboxSession -Sandbox $sb -Id 'pester-whatif' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}
