#!/usr/bin/env bash
# Installs a host binary from Debian's packages when it is missing; never leaves it running as a service (the
# tests and benches start private instances on their own loopback ports).
#   debian-tool.sh BINARY PACKAGE [FALLBACK_PACKAGE]
# make setup: haproxy (the DO simulator's real-LB test). make bench: nginx (the ledger-overhead bench's server).
set -euo pipefail
bin=${1:?usage: debian-tool.sh BINARY PACKAGE [FALLBACK_PACKAGE]} pkg=${2:?package} alt=${3:-}
command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "debian-tool: $bin is missing; install it (apt-get install $pkg) or run make as root" >&2
  exit 1
fi
echo "debian-tool: installing $bin (Debian package $pkg)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null 2>&1 \
  || { [ -n "$alt" ] && apt-get install -y -qq --no-install-recommends "$alt" >/dev/null; }
# The package may start a system service (nginx on port 80); nothing here needs one.
if command -v service >/dev/null 2>&1; then service "$bin" stop >/dev/null 2>&1 || true; fi
if [ "$bin" = nginx ] && [ -f /run/nginx.pid ]; then kill "$(cat /run/nginx.pid)" 2>/dev/null || true; fi
