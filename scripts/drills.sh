#!/usr/bin/env bash
# Reliability and security drills, long forms (issue 7).
#
# The same tests run in CI in their short forms (`go test -race ./...`);
# this script runs them longer, without the race detector (its shadow
# memory would swamp the RSS curve), and prints the numbers each drill
# reports: requests sent, answered, stored, lost; peak RSS; goroutines
# before and after.
#
#   scripts/drills.sh                      # soak 30m, in-process soak 5m, the rest once
#   DRILL_SOAK=5m scripts/drills.sh        # a shorter soak
#   DRILL_SOAK=2h DRILL_RATE=100 scripts/drills.sh
#   DRILL_ONLY='TestDrillSoak$' scripts/drills.sh   # one drill
#
# Settings (environment):
#   DRILL_SOAK         length of the binary soak            (default here 30m; CI 30s)
#   DRILL_SOAK_INPROC  length of the in-process soak        (default here 5m; CI 10s)
#   DRILL_RATE         steady requests per second, plus a burst of 50 every 5 s (default 40)
#   DRILL_ONLY         -run pattern (default: every drill)
#   DRILL_RACE=1       build with -race anyway
#
# Linux only (the drills read /proc and use prlimit).
set -euo pipefail
cd "$(dirname "$0")/.."

export DRILL_SOAK="${DRILL_SOAK:-30m}"
export DRILL_SOAK_INPROC="${DRILL_SOAK_INPROC:-5m}"
export DRILL_RATE="${DRILL_RATE:-40}"
only="${DRILL_ONLY:-Drill}"
report="$(mktemp)"
export DRILL_REPORT="$report"
trap 'rm -f "$report"' EXIT

args=(-count=1 -v -timeout 0)
[ "${DRILL_RACE:-}" = 1 ] && args+=(-race)

echo "== drills: soak ${DRILL_SOAK} at ${DRILL_RATE}/s, in-process soak ${DRILL_SOAK_INPROC}"
log="$(mktemp)"
trap 'rm -f "$report" "$log"' EXIT
set +e
go test "${args[@]}" -run "$only" . ./capture/ ./inspector/ >"$log" 2>&1
status=$?
set -e
# The resource curves and failures, then the numbers.
grep -E '^(=== RUN|--- |    --- |ok |FAIL)|drills_test.go|^ +t=' "$log" || true
echo
echo "== numbers"
if [ -s "$report" ]; then
  sed 's/^DRILL /  /' "$report"
else
  echo "  (no drill reported; see the log above)"
fi
if [ "$status" -ne 0 ]; then
  echo "drills FAILED (go test exit $status)"
  exit "$status"
fi
echo "drills passed"
