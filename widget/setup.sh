#!/usr/bin/env bash
# Installs what the website widget needs and builds it. Idempotent: every step is skipped when
# it is already done, so `make run` / `make test` can call it every time.
#
#   bash widget/setup.sh                 npm dependencies (from package-lock.json) + build dist/
#   bash widget/setup.sh --with-browser  the same, plus Debian's chromium for the browser tests
set -euo pipefail
cd "$(dirname "$0")"

with_browser=false
for arg in "$@"; do
  case "$arg" in
    --with-browser) with_browser=true ;;
    *) echo "usage: $0 [--with-browser]" >&2; exit 2 ;;
  esac
done

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  echo "==> Installing $* (apt)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@"
}

# Node.js 18+ for the build (esbuild); Node 20 is on the project's machines already.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 18 ]; then
  echo "error: Node.js 18 or newer is needed to build the widget (found $(node -v))" >&2
  exit 1
fi

# npm dependencies, exactly as locked. esbuild's binary comes from its @esbuild/<platform>
# package; no install script needs to run.
stamp=node_modules/.bts-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  echo "==> Installing the widget's npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
  touch "$stamp"
fi

# Build when a source is newer than the bundle.
if [ ! -f dist/bts-chat.js ] || [ -n "$(find src build.mjs package-lock.json -newer dist/bts-chat.js -print -quit)" ]; then
  echo "==> Building the widget (widget/dist/)"
  node build.mjs --check-size
fi

if $with_browser && ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium
fi
