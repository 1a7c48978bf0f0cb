BeforeDiscovery {
    . $PSScriptRoot/common.ps1
    $script:DockerAvailable = Test-DockerAvailable
}

BeforeAll {
    . $PSScriptRoot/common.ps1
}

AfterAll {
    Remove-TestSandboxes
}

Describe 'New-Sandbox' -Tag 'Unit' {
    It 'offers the providers as an enum' {
        (Get-Command New-Sandbox).Parameters['Provider'].ParameterType.FullName | Should -Be 'SandboxPS.Core.Automation.SandboxProviderKind'
    }

    It 'supports -WhatIf and creates nothing with it' {
        $name = New-TestName
        New-Sandbox -Name $name -Provider Process -Label $RunLabel -WhatIf | Should -BeNullOrEmpty
        Get-Sandbox -Name $name -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'reads human durations such as <_>' -ForEach @('90s', '10m', '1h30m', 600) {
        { New-Sandbox -Provider Process -TimeToLive $_ -WhatIf } | Should -Not -Throw
    }

    It 'rejects a duration it cannot read, naming the parameter' {
        { New-Sandbox -Provider Process -TimeToLive 'soon' -WhatIf } |
            Should -Throw -ErrorId 'ParameterArgumentTransformationError,SandboxPS.Commands.NewSandboxCommand'
    }

    It 'rejects -Image together with -Runtime before creating anything' {
        { New-Sandbox -Image $BusyboxImage -Runtime 'python-minimal' -WhatIf } |
            Should -Throw -ErrorId 'InvalidSpec,SandboxPS.Commands.NewSandboxCommand'
    }

    It 'rejects reserved label keys' {
        { New-Sandbox -Provider Process -Label @{ 'sandboxps.id' = 'x' } -WhatIf } |
            Should -Throw -ErrorId 'InvalidLabel,SandboxPS.Commands.NewSandboxCommand'
    }
}

Describe 'New-Sandbox on the process provider' -Tag 'Process' {
    It 'creates a ready sandbox with -Wait' {
        $sb = New-TestSandbox
        $sb.GetType().FullName | Should -Be 'SandboxPS.Core.Sandbox'
        $sb.State | Should -Be 'Ready'
        $sb.Provider | Should -Be 'process'
        $sb.Labels['org.sandboxps.test'] | Should -Be $RunLabel['org.sandboxps.test']
        $sb.ExpiresAt | Should -Not -BeNullOrEmpty
    }

    It 'creates one sandbox per piped name' {
        $names = 1..2 | ForEach-Object { New-TestName }
        $created = $names | New-Sandbox -Provider Process -Label $RunLabel -TimeToLive 10m -Wait
        $created.Name | Should -Be $names
    }

    It 'refuses a name that is taken' {
        $sb = New-TestSandbox
        { New-Sandbox -Name $sb.Name -Provider Process -Label $RunLabel -ErrorAction Stop } |
            Should -Throw -ErrorId 'SandboxNameInUse,SandboxPS.Commands.NewSandboxCommand'
    }
}

Describe 'New-Sandbox on Docker' -Tag 'Docker' -Skip:(-not $DockerAvailable) {
    It 'creates a ready, limited container' {
        $sb = New-TestSandbox -Provider Docker -Image $BusyboxImage -Extra @{ Memory = '128m'; Cpus = 0.5; NetworkMode = 'none' }
        $sb.State | Should -Be 'Ready'
        ($sb | Invoke-SandboxAction -Command 'echo ok').Output.Trim() | Should -Be 'ok'
    }

    It 'defaults to Docker when an image is given' {
        $sb = New-Sandbox -Name (New-TestName) -Image $BusyboxImage -Label $RunLabel -TimeToLive 10m -Wait
        $sb.Provider | Should -Be 'docker'
    }
}
