#!/usr/bin/env bash
# Installs what govshare needs on a fresh Debian machine: npm packages always; redis-server (and
# PostgreSQL when asked with --postgres, nginx for the data-path benchmark's baseline with --nginx, Chromium
# for the console's browser tests with --chromium) from
# Debian packages when running as root, otherwise it prints the exact command to run and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

want_postgres=0
want_nginx=0
want_chromium=0
for arg in "$@"; do
  case "$arg" in
    --postgres) want_postgres=1 ;;
    --nginx) want_nginx=1 ;;
    --chromium) want_chromium=1 ;;
  esac
done

# package.json engines: >= 20.19 (what pkijs requires); a plain major-version check would let 20.0-20.18 in.
node_ok=$(node -p 'const [a, b] = process.versions.node.split(".").map(Number); a > 20 || (a === 20 && b >= 19) ? 1 : 0' 2>/dev/null || echo 0)
if [ "$node_ok" != 1 ]; then
  echo "govshare needs Node.js 20.19 or newer (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

missing=()
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || [ -x /usr/bin/redis-cli ] || missing+=(redis-tools)
if [ "$want_postgres" = 1 ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if [ "$want_nginx" = 1 ] && ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  missing+=(nginx)
fi
if [ "$want_chromium" = 1 ] && [ ! -x "${GOVSHARE_TEST_CHROMIUM:-/usr/bin/chromium}" ]; then
  missing+=(chromium)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "==> installing ${missing[*]} from Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing: ${missing[*]}. Install with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# Install when node_modules is missing or older than the lockfile, exactly what the lock names (`npm ci`).
# The lock lists every platform's optional native builds (Biome's, msgpackr's), so it installs anywhere.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing npm packages (npm ci)"
  npm ci --no-fund --no-audit --loglevel=error
fi
