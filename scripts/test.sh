#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, lints, and runs every test against real
# Redis (and PostgreSQL) servers that the tests start on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/ensure-deps.sh --postgres --chromium

echo "==> build (tsc)"
rm -rf dist   # a clean build: no stale compiled tests of deleted sources
npx tsc -p tsconfig.json

echo "==> console (vue-tsc, vite build into dist/console)"
npx vue-tsc --noEmit -p console/tsconfig.json
npx vite build --config console/vite.config.ts

echo "==> lint and format check (biome)"
npx biome check .

echo "==> tests (tap)"
start=$(date +%s)
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
npx tap "$@" | tee "$summary"
if [ $# -eq 0 ]; then
  # Legal deadlines are computed on China Standard Time dates whatever the host zone: prove it.
  for zone in America/Los_Angeles Asia/Shanghai; do
    echo "==> time-dependent tests again with TZ=$zone"
    TZ=$zone npx tap "dist/test/policies/**/*.test.js" dist/test/gateway/jobs/deadlines.test.js dist/test/gateway/routes/stats.test.js
  done
fi
if [ $# -eq 0 ]; then
  # The console in a real browser: @playwright/test (playwright.config.ts) drives the system Chromium
  # against gateways on their own redis-servers and free ports. After tap, not beside it: two cores.
  echo "==> browser tests (@playwright/test, system Chromium)"
  npx playwright test
fi
echo "tests took $(( $(date +%s) - start )) s"
# The main run's totals as one plain line (tap's own summary is a comment).
total=$(sed -n 's/^# { total: \([0-9]*\).*/\1/p' "$summary" | tail -1)
passed=$(sed -n 's/^# { total: [0-9]*, pass: \([0-9]*\).*/\1/p' "$summary" | tail -1)
skipped=$(sed -n 's/^# {.*skip: \([0-9]*\).*/\1/p' "$summary" | tail -1)
echo "${passed:-0} passed, $(( ${total:-0} - ${passed:-0} - ${skipped:-0} )) failed"

