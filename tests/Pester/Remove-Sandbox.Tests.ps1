BeforeAll {
    . $PSScriptRoot/common.ps1
}

AfterAll {
    Remove-TestSandboxes
}

Describe 'Remove-Sandbox' -Tag 'Unit' {
    It 'asks for confirmation at Medium impact' {
        $attribute = (Get-Command Remove-Sandbox).ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
        $attribute.SupportsShouldProcess | Should -BeTrue
        $attribute.ConfirmImpact | Should -Be 'Medium'
    }

    It 'is idempotent for a name that matches nothing' {
        { Remove-Sandbox -Name 'pester-missing-sandbox' -Confirm:$false -ErrorAction Stop } | Should -Not -Throw
    }
}

Describe 'Remove-Sandbox on the process provider' -Tag 'Process' {
    It 'removes nothing with -WhatIf' {
        $sb = New-TestSandbox
        $sb | Remove-Sandbox -WhatIf
        (Get-Sandbox -Id $sb.Id).State | Should -Be 'Ready'
    }

    It 'removes piped sandboxes, and removing them again succeeds' {
        $sb = New-TestSandbox
        $sb | Remove-Sandbox -Confirm:$false
        Get-Sandbox -Name $sb.Name -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        { $sb | Remove-Sandbox -Confirm:$false -ErrorAction Stop } | Should -Not -Throw
    }

    It 'refuses a piped session with SessionPipedToRemoveSandbox and removes nothing' {
        $sb = New-TestSandbox
        $session = $sb | New-SandboxSession
        { $session | Remove-Sandbox -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'SessionPipedToRemoveSandbox,SandboxPS.Commands.RemoveSandboxCommand'
        (Get-Sandbox -Id $sb.Id).State | Should -Be 'Ready'
        $sb | Remove-Sandbox -Confirm:$false
    }

    It 'removes by id and passes the removed sandbox on' {
        $sb = New-TestSandbox
        (Remove-Sandbox -Id $sb.Id -PassThru -Confirm:$false).Id | Should -Be $sb.Id
    }

    It 'removes every match of a wildcard with -Force' {
        $prefix = "pester-f$([guid]::NewGuid().ToString('N').Substring(0, 6))"
        1..2 | ForEach-Object { New-Sandbox -Name "$prefix-$_" -Provider Process -Label $RunLabel -TimeToLive 10m } | Out-Null
        Remove-Sandbox -Name "$prefix-*" -Force -Confirm:$false
        Get-Sandbox -Name "$prefix-*" | Should -BeNullOrEmpty
    }

    It 'removes sandboxes past their time to live with -Expired' {
        $sb = New-Sandbox -Name (New-TestName) -Provider Process -Label $RunLabel -TimeToLive 2s -Wait
        $deadline = [datetime]::UtcNow.AddSeconds(30)
        while ([datetime]::UtcNow -lt $sb.ExpiresAt.UtcDateTime.AddSeconds(1) -and [datetime]::UtcNow -lt $deadline) {
            Start-Sleep -Milliseconds 200
        }
        $removed = Remove-Sandbox -Expired -Provider Process -PassThru -Confirm:$false
        $removed.Id | Should -Contain $sb.Id
        Get-Sandbox -Id $sb.Id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}
