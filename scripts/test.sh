#!/usr/bin/env bash
# The project's test command (README.md): builds everything, the static server included, runs every
# xUnit project, then the whole Pester layer (Unit, Process and Docker tags) in real pwsh 7.6.10 with
# Pester 5.7.1, both installed into .tools/ by scripts/setup-pwsh.sh (a no-op when present).
# Docker tests need a running engine (scripts/setup-docker.sh) and fail loudly without one.
# Ends with one line "tests: N passed, N failed, N skipped" counting xUnit and Pester together.
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
log=$(mktemp); pester_log=$(mktemp); trap 'rm -f "$log" "$pester_log"' EXIT

dotnet build SandboxPS.sln -c Debug -warnaserror 2>&1 | tail -n 30
build_rc=${PIPESTATUS[0]}
if [[ $build_rc -ne 0 ]]; then echo "build failed" >&2; echo "tests: 0 passed, 1 failed"; exit 1; fi

dotnet test SandboxPS.sln -c Debug --no-build "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# "Failed!  - Failed:     0, Passed:    12, Skipped:     0, Total: ..." per test project
read -r passed failed skipped < <(grep -E '(Passed|Failed)! +- +Failed: ' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\2 \1 \3/' \
  | awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')

# Pester: the module staged fresh from this build's Debug output (out/SandboxPS/<version>, where
# build.ps1 stages it too), then every tag. Its last line is "Pester: N passed, N failed, N skipped".
pester_rc=0
if ! pwsh_path=$(bash scripts/setup-pwsh.sh | tail -n 1); then
  echo "pwsh/Pester setup failed" >&2; pester_rc=1
elif ! dotnet msbuild src/SandboxPS/SandboxPS.csproj -nologo -v:m -t:StageModule -p:Configuration=Debug 2>&1 | tail -n 5; then
  echo "staging the module failed" >&2; pester_rc=1
else
  version=$(sed -nE 's:.*<ModuleVersion>([^<]+)</ModuleVersion>.*:\1:p' Directory.Build.props | head -n 1)
  PSModulePath="$PWD/.tools/modules${PSModulePath:+:$PSModulePath}" \
    "$pwsh_path" -NoProfile -NonInteractive -File tests/Pester/Invoke-Tests.ps1 -ModulePath "out/SandboxPS/$version" 2>&1 | tee "$pester_log"
  pester_rc=${PIPESTATUS[0]}
fi
if read -r pp pf ps < <(sed -nE 's/^Pester: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/p' "$pester_log" | tail -n 1); then
  passed=$((passed + pp)); failed=$((failed + pf)); skipped=$((skipped + ps))
fi
# A Pester run that broke before counting (no "Pester:" line, or a non-zero exit with 0 failed) is one failure.
if [[ $pester_rc -ne 0 ]]; then
  rc=1
  if ! grep -qE '^Pester: [0-9]+ passed, [1-9]' "$pester_log"; then failed=$((failed + 1)); fi
fi

if [[ $rc -ne 0 && $failed -eq 0 ]]; then failed=1; fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $rc
