BeforeAll {
    . $PSScriptRoot/common.ps1
}

Describe 'Get-SandboxRuntime' -Tag 'Unit' {
    It 'lists the built-in runtimes' {
        $runtimes = Get-SandboxRuntime
        $runtimes.Name | Should -Contain 'python-minimal'
        # Types of the SandboxPS load context are invisible to type literals and -BeOfType: compare names.
        $runtimes[0].GetType().FullName | Should -Be 'SandboxPS.Core.Runtimes.RuntimeConfig'
    }

    It 'filters by name with wildcards' {
        (Get-SandboxRuntime -Name 'python-*').Name | ForEach-Object { $_ | Should -BeLike 'python-*' }
    }

    It 'reports an unknown name as RuntimeNotFound' {
        { Get-SandboxRuntime -Name 'no-such-runtime' -ErrorAction Stop } |
            Should -Throw -ErrorId 'RuntimeNotFound,SandboxPS.Commands.GetSandboxRuntimeCommand'
    }

    It 'reads a runtime file relative to the current location' {
        Set-Content -LiteralPath (Join-Path $TestDrive 'rt.yaml') -Value @(
            'name: pester-rt'
            'baseImage: sandboxps/debian:bookworm-minbase'
            'workDir: /work'
        )
        Push-Location -LiteralPath $TestDrive
        try {
            $runtime = Get-SandboxRuntime -Path ./rt.yaml
        }
        finally {
            Pop-Location
        }
        $runtime.Name | Should -Be 'pester-rt'
        $runtime.WorkDir | Should -Be '/work'
    }

    It 'completes runtime names for New-Sandbox -Runtime' {
        $line = 'New-Sandbox -Runtime python-m'
        $completion = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $completion.CompletionMatches.CompletionText | Should -Contain 'python-minimal'
    }
}
