BeforeDiscovery {
    . $PSScriptRoot/common.ps1
    $script:HasPython = Test-Python3Available
}

BeforeAll {
    . $PSScriptRoot/common.ps1
}

AfterAll {
    Remove-TestSandboxes
}

Describe 'Invoke-SandboxAction' -Tag 'Unit' {
    It 'has one parameter set per action, Command by default' {
        $command = Get-Command Invoke-SandboxAction
        $command.DefaultParameterSet | Should -Be 'Command'
        $command.ParameterSets.Name | Sort-Object | Should -Be @('Command', 'Edit', 'Exec', 'Python', 'ReadFile', 'WriteFile')
    }

    It 'reports an unknown sandbox as SandboxNotFound' {
        { Invoke-SandboxAction -Sandbox 'pester-missing-sandbox' -Command 'true' -ErrorAction Stop } |
            Should -Throw -ErrorId 'SandboxNotFound,SandboxPS.Commands.InvokeSandboxActionCommand'
    }

    It 'rejects an object that does not name a sandbox' {
        { Invoke-SandboxAction -Sandbox 42 -Command 'true' } |
            Should -Throw -ErrorId 'ParameterArgumentTransformationError,SandboxPS.Commands.InvokeSandboxActionCommand'
    }
}

Describe 'Invoke-SandboxAction on the process provider' -Tag 'Process' {
    BeforeAll {
        $script:sb = New-TestSandbox
        $script:work = Join-Path $TestDrive 'work'
        $null = New-Item -ItemType Directory -Path $work
    }

    It 'runs a command and returns a result' {
        $r = $sb | Invoke-SandboxAction -Command 'echo hello'
        $r.GetType().FullName | Should -Be 'SandboxPS.Core.SandboxActionResult'
        $r.Output.Trim() | Should -Be 'hello'
        $r.ExitCode | Should -Be 0
        $r.Action | Should -Be 'Command'
        $r.SandboxId | Should -Be $sb.Id
    }

    It 'keeps state between calls in a session' {
        Invoke-SandboxAction $sb -Command "cd '$work' && export PESTER_X=7" | Out-Null
        (Invoke-SandboxAction $sb -Command 'echo "$PESTER_X $(pwd)"').Output.Trim() | Should -Be "7 $work"
    }

    It 'treats a non-zero exit code as data' {
        $r = Invoke-SandboxAction $sb -Command '(exit 3)' -ErrorAction Stop
        $r.ExitCode | Should -Be 3
        $r.Succeeded | Should -BeFalse
    }

    It 'makes a non-zero exit an error with -ErrorOnNonZeroExit' {
        { Invoke-SandboxAction $sb -Command 'echo boom; (exit 4)' -ErrorOnNonZeroExit -ErrorAction Stop } |
            Should -Throw -ErrorId 'SandboxActionFailed,SandboxPS.Commands.InvokeSandboxActionCommand'
    }

    It 'starts a new default session, with a warning, after a command ran exit' {
        Invoke-SandboxAction $sb -Command 'exit 7' | Out-Null
        $r = Invoke-SandboxAction $sb -Command 'echo back' -WarningVariable warnings 3>$null
        $r.Output.Trim() | Should -Be 'back'
        $warnings.Count | Should -Be 1
    }

    It 'runs a program once with separate stdout and stderr' {
        $r = Invoke-SandboxAction $sb -ArgumentList 'sh', '-c', 'echo out; echo err >&2; exit 2'
        $r.Stdout.Trim() | Should -Be 'out'
        $r.Stderr.Trim() | Should -Be 'err'
        $r.ExitCode | Should -Be 2
        $r.Action | Should -Be 'Exec'
    }

    It 'writes, edits and reads a file' {
        $file = Join-Path $work 'app.txt'
        Invoke-SandboxAction $sb -WriteFile $file -Content "one`ntwo`nthree`n" | Out-Null
        Invoke-SandboxAction $sb -Edit $file -OldText 'two' -NewText 'TWO' | Out-Null
        (Invoke-SandboxAction $sb -ReadFile $file).Output | Should -Be "one`nTWO`nthree`n"
        (Invoke-SandboxAction $sb -ReadFile $file -StartLine 2 -EndLine 2).Output.Trim() | Should -Be 'TWO'
    }

    It 'reports an edit that matches nothing as EditNoMatch' {
        $file = Join-Path $work 'edit.txt'
        Invoke-SandboxAction $sb -WriteFile $file -Content 'abc' | Out-Null
        { Invoke-SandboxAction $sb -Edit $file -OldText 'xyz' -NewText 'q' -ErrorAction Stop } |
            Should -Throw -ErrorId 'EditNoMatch,SandboxPS.Commands.InvokeSandboxActionCommand'
    }

    It 'streams output lines to the information stream, then returns the result' {
        $r = Invoke-SandboxAction $sb -Command 'for i in 1 2 3; do echo line$i; done' -Stream -InformationVariable lines 6>$null
        $r.ExitCode | Should -Be 0
        @($lines.MessageData.Message) | Should -Be @('line1', 'line2', 'line3')
        $lines[0].Tags | Should -Contain 'SandboxOutput'
    }

    It 'interrupts a command that runs past -TimeoutSec and keeps the session usable' {
        $r = Invoke-SandboxAction $sb -Command 'sleep 30' -TimeoutSec 1
        $r.TimedOut | Should -BeTrue
        (Invoke-SandboxAction $sb -Command 'echo alive').Output.Trim() | Should -Be 'alive'
    }

    It 'stops promptly on Ctrl+C and interrupts the command' {
        $outcome = Invoke-AndStop -StopAfterSeconds 2 -ArgumentList $sb.Id -ScriptBlock {
            param($id)
            Invoke-SandboxAction -Sandbox $id -Command 'sleep 60'
        }
        $outcome.StopSeconds | Should -BeLessThan 15 -Because 'a stop must not wait for the command (generous bound: about hangs only)'
        $outcome.State | Should -Be 'Stopped'
        $outcome.Errors | Should -BeNullOrEmpty
        (Invoke-SandboxAction $sb -Command 'echo after-stop' -TimeoutSec 20).Output.Trim() | Should -Be 'after-stop'
    }

    It 'runs in ForEach-Object -Parallel with sandbox objects passed in' {
        $target = $sb
        $outputs = 1..4 | ForEach-Object -ThrottleLimit 4 -Parallel {
            Import-Module -Name $using:ManifestPath
            ($using:target | Invoke-SandboxAction -ArgumentList 'echo', "n$_").Stdout.Trim()
        }
        $outputs | Sort-Object | Should -Be @('n1', 'n2', 'n3', 'n4')
    }

    It 'shows what it would run with -WhatIf and runs nothing' {
        $marker = Join-Path $work 'whatif-marker'
        Invoke-SandboxAction $sb -Command "touch '$marker'" -WhatIf | Should -BeNullOrEmpty
        Test-Path -LiteralPath $marker | Should -BeFalse
    }

    It 'keeps Python state in the python session' -Skip:(-not $HasPython) {
        Invoke-SandboxAction $sb -Python 'x = 40' | Out-Null
        $r = Invoke-SandboxAction $sb -Python 'print(x + 2)'
        $r.Output.Trim() | Should -Be '42'
        $r.Action | Should -Be 'Python'
    }
}
