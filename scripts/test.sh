#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, lints, and runs every test against real
# Redis (and PostgreSQL) servers that the tests start on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/ensure-deps.sh --postgres

echo "==> build (tsc)"
rm -rf dist   # a clean build: no stale compiled tests of deleted sources
npx tsc -p tsconfig.json

echo "==> lint and format check (biome)"
npx biome check .

echo "==> tests (tap)"
start=$(date +%s)
npx tap "$@"
if [ $# -eq 0 ]; then
  # Legal deadlines are computed on China Standard Time dates whatever the host zone: prove it.
  for zone in America/Los_Angeles Asia/Shanghai; do
    echo "==> time-dependent tests again with TZ=$zone"
    TZ=$zone npx tap "dist/test/policies/**/*.test.js" dist/test/gateway/jobs/deadlines.test.js dist/test/gateway/routes/stats.test.js
  done
fi
echo "tests took $(( $(date +%s) - start )) s"
