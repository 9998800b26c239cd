#!/usr/bin/env bash
# What `make bench` needs beyond `make setup`: nginx (the ledger-overhead bench serves a static file with its own
# private nginx on a loopback port). Installed from Debian's packages when missing; never started as a service.
set -euo pipefail
if ! command -v nginx >/dev/null 2>&1 && ! [ -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bench-deps: nginx is missing; install it (apt-get install nginx-light) or run make bench as root" >&2
    exit 1
  fi
  echo "bench-deps: installing nginx (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends nginx-light >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends nginx >/dev/null
  # The package may start a system nginx on port 80; the bench needs none and must leave nothing running.
  if command -v service >/dev/null 2>&1; then service nginx stop >/dev/null 2>&1 || true; fi
  if [ -f /run/nginx.pid ]; then kill "$(cat /run/nginx.pid)" 2>/dev/null || true; fi
fi
