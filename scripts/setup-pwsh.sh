#!/usr/bin/env bash
# Installs what the PowerShell layer needs into folders the project owns, idempotently:
#   .tools/pwsh/pwsh                    PowerShell 7.6.10, the .NET tool (7.7.0 does not install here)
#   .tools/modules/Pester/5.7.1/        Pester 5.7.1, copied from the tools/ folder of its NuGet package
# A second run with both present returns at once (no dotnet call). Prints the pwsh path on its last line.
# Source it (or read its last line) to get PATH/PSModulePath; scripts/test.sh and build.ps1 use the same folders.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pwsh_version=7.6.10
pester_version=5.7.1
tool_dir="$root/.tools/pwsh"
module_dir="$root/.tools/modules"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

installed_pwsh_version() {
  # The tool's own manifest says which version is in the folder; no pwsh start needed.
  local store="$tool_dir/.store/powershell"
  [[ -x "$tool_dir/pwsh" && -d "$store/$pwsh_version" ]]
}

if ! installed_pwsh_version; then
  echo "[setup-pwsh] installing PowerShell $pwsh_version into $tool_dir" >&2
  if [[ -d "$tool_dir/.store/powershell" ]]; then
    # Another version is there: replace it (dotnet tool install refuses a second version in one path).
    dotnet tool uninstall --tool-path "$tool_dir" PowerShell >/dev/null 2>&1 || true
  fi
  dotnet tool install --tool-path "$tool_dir" PowerShell --version "$pwsh_version" >/dev/null
  installed_pwsh_version || { echo "[setup-pwsh] PowerShell $pwsh_version did not install into $tool_dir" >&2; exit 1; }
fi

if [[ ! -f "$module_dir/Pester/$pester_version/Pester.psd1" ]]; then
  echo "[setup-pwsh] installing Pester $pester_version into $module_dir" >&2
  # A throw-away project outside the repository (so Directory.*.props do not apply) that only downloads
  # the package; the package folder is ours too, so nothing depends on ~/.nuget.
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
  cat >"$work/pester.proj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Pester" Version="[$pester_version]" /></ItemGroup>
</Project>
EOF
  packages="$root/.tools/nuget"
  dotnet restore "$work/pester.proj" --packages "$packages" >/dev/null
  src="$packages/pester/$pester_version/tools"
  [[ -f "$src/Pester.psd1" ]] || { echo "[setup-pwsh] Pester $pester_version package has no tools/Pester.psd1 ($src)" >&2; exit 1; }
  rm -rf "$module_dir/Pester/$pester_version.tmp"
  mkdir -p "$module_dir/Pester"
  cp -R "$src" "$module_dir/Pester/$pester_version.tmp"
  mv "$module_dir/Pester/$pester_version.tmp" "$module_dir/Pester/$pester_version"
fi

echo "$tool_dir/pwsh"
