#!/usr/bin/env bash
# Prints the environment for an isolated replica "lane" N (1-9), so several checkouts (git worktrees) can each run
# their own replica side by side: own compose project, containers, volumes, image tag and loopback ports.
#   eval "$(bash scripts/lane.sh 3)"    then `make test`, `greenlight up`, … use lane 3 only.
# Lane 0 (or no lane) is the default replica on the default ports.
set -euo pipefail
n=${1:?usage: lane.sh N (1-9)}
[[ $n =~ ^[0-9]$ ]] || { echo "lane.sh: N must be one digit, 0-9" >&2; exit 2; }
if [ "$n" = 0 ]; then
  echo "unset GREENLIGHT_PROJECT GREENLIGHT_IMAGE_TAG GREENLIGHT_LB_PORT GREENLIGHT_LB_ADMIN_PORT GREENLIGHT_BLUE1_PORT GREENLIGHT_BLUE2_PORT GREENLIGHT_GREEN1_PORT GREENLIGHT_GREEN2_PORT GREENLIGHT_BLUE1_SSH GREENLIGHT_BLUE2_SSH GREENLIGHT_GREEN1_SSH GREENLIGHT_GREEN2_SSH GREENLIGHT_DB_PORT GREENLIGHT_REDIS_PORT GREENLIGHT_DOAPI_PORT GREENLIGHT_MASTER_PORT GREENLIGHT_VARNISH_PORT"
  exit 0
fi
b=$((20000 + n * 1000))
cat <<ENV
export GREENLIGHT_PROJECT=gl$n GREENLIGHT_IMAGE_TAG=lane$n
export GREENLIGHT_LB_PORT=$((b + 80)) GREENLIGHT_LB_ADMIN_PORT=$((b + 99))
export GREENLIGHT_BLUE1_PORT=$((b + 81)) GREENLIGHT_BLUE2_PORT=$((b + 82)) GREENLIGHT_GREEN1_PORT=$((b + 83)) GREENLIGHT_GREEN2_PORT=$((b + 84))
export GREENLIGHT_BLUE1_SSH=$((b + 21)) GREENLIGHT_BLUE2_SSH=$((b + 22)) GREENLIGHT_GREEN1_SSH=$((b + 23)) GREENLIGHT_GREEN2_SSH=$((b + 24))
export GREENLIGHT_DB_PORT=$((b + 7)) GREENLIGHT_REDIS_PORT=$((b + 6)) GREENLIGHT_DOAPI_PORT=$((b + 90)) GREENLIGHT_MASTER_PORT=$((b + 57))
export GREENLIGHT_VARNISH_PORT=$((b + 88))
ENV
