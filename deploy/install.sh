#!/usr/bin/env bash
# Installs the Debian packages of the production profile: PostgreSQL, Redis, nginx, OpenSSL and
# supervisor (which runs and restarts every process of the profile).
#
# Idempotent: packages already installed are left alone and apt-get is not called at all when
# nothing is missing. Runs as root (apt-get). The packages' own services are NOT started or
# enabled here: the profile (bts/deploy) runs its own supervisord, PostgreSQL cluster, Redis and
# nginx under var/prod/ on 127.0.0.1-only ports, so nothing is left listening on 80/5432/6379.
#
# Usage: deploy/install.sh            (or: make run-prod / make bench / make test-scale)
set -euo pipefail

PACKAGES=(postgresql redis-server nginx-light openssl ca-certificates supervisor)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
# nginx-light, nginx-core or nginx-full all provide the same nginx binary and the modules used
# (ssl, http_realip, limit_req, map, upstream hash); accept any of them.
if [[ " ${missing[*]} " == *" nginx-light "* ]] && command -v nginx >/dev/null 2>&1; then
  missing=("${missing[@]/nginx-light}")
fi
read -r -a missing <<<"${missing[*]}"

if [ "${#missing[@]}" -eq 0 ]; then
  echo "==> Production packages already installed (postgresql, redis-server, nginx, openssl, supervisor)"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "error: installing ${missing[*]} needs root (apt-get); run: sudo $0" >&2
  exit 1
fi

echo "==> Installing Debian packages: ${missing[*]}"
# Keep the packages' maintainer scripts from starting their default services (nginx on :80,
# Redis on :6379, a PostgreSQL cluster on :5432, Debian's own supervisord): policy-rc.d exit code 101 means "not allowed".
# Only a policy-rc.d we created ourselves is removed again.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" -eq 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when they are missing or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' -mmin -1440 2>/dev/null | head -1)" ]; then
  apt-get update -q
fi
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "==> Installed: ${missing[*]}"
