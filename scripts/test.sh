#!/usr/bin/env bash
# The project's test command (README.md): builds everything, the static server included, and runs
# every xUnit project. Docker tests need a running engine (scripts/setup-docker.sh) and fail loudly
# without one. Pester runs only where pwsh exists. Ends with one line "tests: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
log=$(mktemp); trap 'rm -f "$log"' EXIT

dotnet build SandboxPS.sln -c Debug -warnaserror 2>&1 | tail -n 30
build_rc=${PIPESTATUS[0]}
if [[ $build_rc -ne 0 ]]; then echo "build failed" >&2; echo "tests: 0 passed, 1 failed"; exit 1; fi

dotnet test SandboxPS.sln -c Debug --no-build "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

if command -v pwsh >/dev/null 2>&1; then
  pwsh -NoProfile -NonInteractive -File build.ps1 -Task Test -SkipUnit || rc=1
else
  echo "WARNING: Pester layer skipped (pwsh is not installed on this machine)"
fi

# "Failed!  - Failed:     0, Passed:    12, Skipped:     0, Total: ..." per test project
read -r passed failed skipped < <(grep -E '(Passed|Failed)! +- +Failed: ' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\2 \1 \3/' \
  | awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
if [[ $rc -ne 0 && $failed -eq 0 ]]; then failed=1; fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $rc
