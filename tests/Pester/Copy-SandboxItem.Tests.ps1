BeforeAll {
    . $PSScriptRoot/common.ps1
}

AfterAll {
    Remove-TestSandboxes
}

Describe 'Copy-SandboxItem' -Tag 'Unit' {
    It 'needs a sandbox, from -Sandbox or a NAME:/path' {
        { Copy-SandboxItem -Path $PSCommandPath -Destination '/tmp/x' -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidSandboxArgument,SandboxPS.Commands.CopySandboxItemCommand'
    }

    It 'binds piped files to -LiteralPath through PSPath' {
        (Get-Command Copy-SandboxItem).Parameters['LiteralPath'].Aliases | Should -Contain 'PSPath'
    }
}

Describe 'Copy-SandboxItem on the process provider' -Tag 'Process' {
    BeforeAll {
        $script:sb = New-TestSandbox
        # The process provider's file system is this machine's: "remote" paths live under TestDrive too.
        $script:remote = Join-Path $TestDrive 'remote'
        $null = New-Item -ItemType Directory -Path $remote
        $script:local = Join-Path $TestDrive 'local'
        $null = New-Item -ItemType Directory -Path $local
        Set-Content -LiteralPath (Join-Path $local 'a.txt') -Value 'alpha'
        Set-Content -LiteralPath (Join-Path $local 'b.txt') -Value 'beta'
        $null = New-Item -ItemType Directory -Path (Join-Path $local 'dir/sub') -Force
        Set-Content -LiteralPath (Join-Path $local 'dir/sub/c.txt') -Value 'gamma'
    }

    It 'resolves relative local paths against the PowerShell location, not the process directory' {
        Push-Location -LiteralPath $local
        try {
            [System.IO.Directory]::SetCurrentDirectory('/')
            Copy-SandboxItem -Path ./a.txt -Destination "$($sb.Name):$remote/rel.txt" -ErrorAction Stop
        }
        finally {
            Pop-Location
        }
        Get-Content -LiteralPath (Join-Path $remote 'rel.txt') | Should -Be 'alpha'
    }

    It 'copies with -Sandbox and -ToSandbox, wildcards included' {
        $target = Join-Path $remote 'many'
        Copy-SandboxItem -Sandbox $sb -ToSandbox -Path (Join-Path $local '*.txt') -Destination $target -ErrorAction Stop
        (Get-ChildItem -LiteralPath $target).Name | Sort-Object | Should -Be @('a.txt', 'b.txt')
    }

    It 'copies a directory tree out with -FromSandbox' {
        Copy-SandboxItem -Sandbox $sb -ToSandbox -Path (Join-Path $local 'dir') -Destination (Join-Path $remote 'tree') -ErrorAction Stop
        Copy-SandboxItem -Sandbox $sb -FromSandbox -Path (Join-Path $remote 'tree') -Destination (Join-Path $TestDrive 'back') -ErrorAction Stop
        Get-Content -LiteralPath (Join-Path $TestDrive 'back/sub/c.txt') | Should -Be 'gamma'
    }

    It 'treats TestDrive: as a local drive, never as a sandbox name' {
        Copy-SandboxItem -Sandbox $sb -ToSandbox -Path 'TestDrive:/local/b.txt' -Destination (Join-Path $remote 'drive.txt') -ErrorAction Stop
        Get-Content -LiteralPath (Join-Path $remote 'drive.txt') | Should -Be 'beta'
    }

    It 'copies piped files' {
        $target = Join-Path $remote 'piped'
        $results = Get-ChildItem -LiteralPath $local -Filter '*.txt' | Copy-SandboxItem -Sandbox $sb -ToSandbox -Destination $target -PassThru
        @($results).Count | Should -Be 2
        $results.Action | Select-Object -Unique | Should -Be 'CopyTo'
    }

    It 'reports a missing local file' {
        { Copy-SandboxItem -Sandbox $sb -ToSandbox -LiteralPath (Join-Path $local 'missing.txt') -Destination $remote -ErrorAction Stop } |
            Should -Throw -ErrorId 'LocalPathNotFound,SandboxPS.Commands.CopySandboxItemCommand'
    }

    It 'copies nothing with -WhatIf' {
        Copy-SandboxItem -Sandbox $sb -ToSandbox -Path (Join-Path $local 'a.txt') -Destination (Join-Path $remote 'whatif.txt') -WhatIf
        Test-Path -LiteralPath (Join-Path $remote 'whatif.txt') | Should -BeFalse
    }
}
