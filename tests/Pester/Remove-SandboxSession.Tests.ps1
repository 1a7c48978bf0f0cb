BeforeAll {
    . $PSScriptRoot/common.ps1
}

AfterAll {
    Remove-TestSandboxes
}

Describe 'Remove-SandboxSession on the process provider' -Tag 'Process' {
    BeforeAll {
        $script:sb = New-TestSandbox
    }

    It 'ends piped sessions' {
        $s = New-SandboxSession -Sandbox $sb -Id 'pester-end'
        $s | Remove-SandboxSession -Confirm:$false
        Get-SandboxSession -Sandbox $sb -Id 'pester-end' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'succeeds for a session that is gone' {
        { Remove-SandboxSession -Sandbox $sb -Id 'pester-never-existed' -Confirm:$false -ErrorAction Stop } | Should -Not -Throw
    }

    It 'changes nothing with -WhatIf' {
        New-SandboxSession -Sandbox $sb -Id 'pester-keep' | Out-Null
        Remove-SandboxSession -Sandbox $sb -Id 'pester-keep' -WhatIf
        (Get-SandboxSession -Sandbox $sb -Id 'pester-keep').Id | Should -Be 'pester-keep'
    }

    It 'passes removed sessions on with -PassThru' {
        New-SandboxSession -Sandbox $sb -Id 'pester-pass' | Out-Null
        (Remove-SandboxSession -Sandbox $sb -Id 'pester-pass' -PassThru -Confirm:$false).Id | Should -Be 'pester-pass'
    }
}
