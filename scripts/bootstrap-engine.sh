#!/usr/bin/env bash
# Make a Docker engine and the debian:bookworm-slim base image available.
# Idempotent: silent when nothing is needed; says what it did otherwise.
# Why: these machines have only the docker CLI and no registry (see docs/architecture.md).
set -euo pipefail

say() { echo "greenlight-bootstrap: $*" >&2; }
die() { echo "greenlight-bootstrap: error: $*" >&2; exit 1; }

engine_up() { docker info >/dev/null 2>&1; }

if ! engine_up; then
    if ! command -v dockerd >/dev/null 2>&1; then
        [ "$(id -u)" = 0 ] || die "no Docker engine answers and we are not root: start Docker, or rerun as root to install Debian's docker.io"
        command -v apt-get >/dev/null 2>&1 || die "no Docker engine answers and this is not Debian/Ubuntu: install and start Docker yourself"
        say "installing Debian's docker.io and docker-compose"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq docker.io docker-compose debootstrap >/dev/null
    fi
    # A dockerd killed with the previous session leaves its pid file behind; a new one refuses to start.
    for pidfile in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
        if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null; then rm -f "$pidfile"; fi
    done
    say "starting dockerd"
    mkdir -p /var/log
    nohup dockerd >/var/log/dockerd.log 2>&1 &
    for _ in $(seq 1 60); do engine_up && break; sleep 1; done
    engine_up || die "dockerd did not answer within 60 s: see /var/log/dockerd.log"
    say "Docker engine is up"
fi

# A compose implementation: v2 plugin or v1 binary.
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || die "neither 'docker compose' nor 'docker-compose' found: install one"
    say "installing Debian's docker-compose"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
fi

# Chaos drills reach into containers' namespaces from the host: nsenter (util-linux), tc (iproute2), iptables.
if ! command -v nsenter >/dev/null 2>&1 || ! command -v tc >/dev/null 2>&1 || ! command -v iptables >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing iproute2, iptables, util-linux (network faults for chaos drills)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 iptables util-linux >/dev/null \
            || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 iptables util-linux >/dev/null; }
    else
        say "warning: nsenter, tc or iptables missing: network and disk faults of chaos drills will fail"
    fi
fi

BASE=debian:bookworm-slim
if ! docker image inspect "$BASE" >/dev/null 2>&1; then
    if timeout 60 docker pull -q "$BASE" >/dev/null 2>&1; then
        say "pulled $BASE"
    else
        [ "$(id -u)" = 0 ] || die "$BASE is missing, cannot be pulled, and building it needs root (debootstrap)"
        command -v debootstrap >/dev/null 2>&1 || {
            say "installing debootstrap"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
        }
        say "building $BASE from Debian packages with debootstrap (no registry reachable)"
        mirror=http://deb.debian.org/debian
        # Use the machine's own apt source, so the image resolves packages the same way.
        src=$(grep -h -m1 -E '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
              | head -n1 | sed -E 's/^URIs: *//; s/^deb +(\[[^]]*\] +)?//; s/ .*//') || true
        [ -n "${src:-}" ] && mirror=$src
        rootfs=$(mktemp -d /tmp/greenlight-rootfs.XXXXXX)
        trap 'rm -rf "$rootfs"' EXIT
        debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/tmp/greenlight-debootstrap.log 2>&1 \
            || die "debootstrap failed: see /tmp/greenlight-debootstrap.log"
        # Keep the machine's apt sources inside, so builds can apt-get update.
        if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
            cp /etc/apt/sources.list.d/*.sources "$rootfs/etc/apt/sources.list.d/"
            rm -f "$rootfs/etc/apt/sources.list"
        fi
        [ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$rootfs/etc/apt/sources.list"
        tar -C "$rootfs" -c . | docker import - "$BASE" >/dev/null
        say "built $BASE"
    fi
fi
