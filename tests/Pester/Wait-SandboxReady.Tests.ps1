BeforeAll {
    . $PSScriptRoot/common.ps1
}

AfterAll {
    Remove-TestSandboxes
}

Describe 'Wait-SandboxReady' -Tag 'Unit' {
    It 'takes -Timeout as an alias of -TimeoutSec' {
        (Get-Command Wait-SandboxReady).Parameters['TimeoutSec'].Aliases | Should -Contain 'Timeout'
    }

    It 'reports a missing name as SandboxNotFound' {
        { Wait-SandboxReady -Name 'pester-missing-sandbox' -ErrorAction Stop } |
            Should -Throw -ErrorId 'SandboxNotFound,SandboxPS.Commands.WaitSandboxReadyCommand'
    }
}

Describe 'Wait-SandboxReady on the process provider' -Tag 'Process' {
    It 'waits for piped sandboxes in parallel and passes them on' {
        $created = 1..3 | ForEach-Object { New-Sandbox -Name (New-TestName) -Provider Process -Label $RunLabel -TimeToLive 10m }
        $ready = $created | Wait-SandboxReady -TimeoutSec 60 -PassThru
        @($ready).Count | Should -Be 3
        $ready.State | Select-Object -Unique | Should -Be 'Ready'
    }

    It 'writes nothing without -PassThru' {
        $sb = New-Sandbox -Name (New-TestName) -Provider Process -Label $RunLabel -TimeToLive 10m
        $sb | Wait-SandboxReady | Should -BeNullOrEmpty
    }

    It 'waits by name' {
        $sb = New-Sandbox -Name (New-TestName) -Provider Process -Label $RunLabel -TimeToLive 10m
        (Wait-SandboxReady -Name $sb.Name -PassThru).Id | Should -Be $sb.Id
    }

    It 'waits for the sandbox of a piped session' {
        $sb = New-Sandbox -Name (New-TestName) -Provider Process -Label $RunLabel -TimeToLive 10m -Wait
        ($sb | New-SandboxSession | Wait-SandboxReady -PassThru).Id | Should -Be $sb.Id
    }
}
