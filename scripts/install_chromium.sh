#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests (Playwright cannot download browsers here).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [[ "$(id -u)" != 0 ]]; then
  echo "error: chromium is missing; install it with: sudo apt-get install -y chromium" >&2
  exit 1
fi
echo "==> Installing Debian's chromium for the browser tests"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
