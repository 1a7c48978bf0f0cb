BeforeAll {
    . $PSScriptRoot/common.ps1
}

AfterAll {
    Remove-TestSandboxes
}

Describe 'Get-Sandbox' -Tag 'Unit' {
    It 'has the sets ByName (default), ById and BySession' {
        $command = Get-Command Get-Sandbox
        $command.DefaultParameterSet | Should -Be 'ByName'
        $command.ParameterSets.Name | Sort-Object | Should -Be @('ById', 'ByName', 'BySession')
    }

    It 'reports a missing name as SandboxNotFound' {
        { Get-Sandbox -Name 'pester-missing-sandbox' -ErrorAction Stop } |
            Should -Throw -ErrorId 'SandboxNotFound,SandboxPS.Commands.GetSandboxCommand'
    }

    It 'returns nothing, and no error, for a pattern that matches nothing' {
        Get-Sandbox -Name 'pester-missing-*' -ErrorAction Stop | Should -BeNullOrEmpty
    }

    It 'reports a missing id as SandboxNotFound' {
        { Get-Sandbox -Id 'ffffffffffffffff0000' -ErrorAction Stop } |
            Should -Throw -ErrorId 'SandboxNotFound,SandboxPS.Commands.GetSandboxCommand'
    }
}

Describe 'Get-Sandbox on the process provider' -Tag 'Process' {
    BeforeAll {
        $script:a = New-TestSandbox
        $script:b = New-TestSandbox -Extra @{ Label = $RunLabel + @{ role = 'b' } }
    }

    It 'finds a sandbox by exact name' {
        (Get-Sandbox -Name $a.Name).Id | Should -Be $a.Id
    }

    It 'finds sandboxes by wildcard' {
        $found = Get-Sandbox -Name 'pester-*' -Label $RunLabel
        $found.Id | Should -Contain $a.Id
        $found.Id | Should -Contain $b.Id
    }

    It 'finds a sandbox by id prefix' {
        (Get-Sandbox -Id $a.Id.Substring(0, 10)).Name | Should -Be $a.Name
    }

    It 'filters by label' {
        $found = Get-Sandbox -Label @{ role = 'b'; 'org.sandboxps.test' = $RunLabel['org.sandboxps.test'] }
        @($found).Count | Should -Be 1
        $found.Id | Should -Be $b.Id
    }

    It 'filters by provider' {
        (Get-Sandbox -Provider Process -Label $RunLabel).Provider | Select-Object -Unique | Should -Be 'process'
    }

    It 'binds piped objects by SandboxId' {
        ([pscustomobject]@{ SandboxId = $a.Id } | Get-Sandbox).Name | Should -Be $a.Name
    }

    It 'gets the sandbox of a piped session, not a sandbox named or numbered like the session' {
        $session = $a | New-SandboxSession
        ($session | Get-Sandbox).Id | Should -Be $a.Id
    }

    It 'binds piped names' {
        ($a.Name | Get-Sandbox).Id | Should -Be $a.Id
    }
}
