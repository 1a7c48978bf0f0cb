BeforeAll {
    . $PSScriptRoot/common.ps1
}

AfterAll {
    Remove-TestSandboxes
}

Describe 'Get-SandboxSession on the process provider' -Tag 'Process' {
    BeforeAll {
        $script:sb = New-TestSandbox
        New-SandboxSession -Sandbox $sb -Id 'pester-a' | Out-Null
        New-SandboxSession -Sandbox $sb -Id 'pester-b' | Out-Null
    }

    It 'lists the sessions of a sandbox' {
        (Get-SandboxSession -Sandbox $sb).Id | Should -Contain 'pester-a'
    }

    It 'filters by id with wildcards' {
        (Get-SandboxSession -Sandbox $sb -Id 'pester-*').Id | Sort-Object | Should -Be @('pester-a', 'pester-b')
    }

    It 'reports a missing session id' {
        { Get-SandboxSession -Sandbox $sb -Id 'nope' -ErrorAction Stop } |
            Should -Throw -ErrorId 'SandboxSessionNotFound,SandboxPS.Commands.GetSandboxSessionCommand'
    }

    It 'takes sandboxes from the pipeline' {
        ($sb | Get-SandboxSession -Id 'pester-a').SandboxName | Should -Be $sb.Name
    }
}
