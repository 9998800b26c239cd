#!/usr/bin/env bash
# Host binaries the tests run directly, outside the replica's containers: haproxy (the DO simulator's real-LB
# backend, tests/test_do_haproxy.py). Installed from Debian's packages when missing; never left running as a
# service (the tests start private instances on their own loopback ports).
set -euo pipefail
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "host-tools: haproxy is missing; install it (apt-get install haproxy) or run make setup as root" >&2
  exit 1
fi
echo "host-tools: installing haproxy (Debian package)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends haproxy >/dev/null
# The package may start a system haproxy; nothing here needs one.
if command -v service >/dev/null 2>&1; then service haproxy stop >/dev/null 2>&1 || true; fi
