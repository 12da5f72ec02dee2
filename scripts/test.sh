#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, lints, and runs every test against real
# Redis (and PostgreSQL) servers that the tests start on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/ensure-deps.sh --postgres

echo "==> build (tsc)"
rm -rf dist/test
npx tsc -p tsconfig.json

echo "==> lint and format check (biome)"
npx biome check .

echo "==> tests (tap)"
start=$(date +%s)
npx tap "$@"
echo "tests took $(( $(date +%s) - start )) s"
