#!/usr/bin/env bash
# Stops what start.sh started in DIR.
set -uo pipefail
dir="$1"
[ -f "$dir/env" ] || exit 0
# shellcheck disable=SC1091
source "$dir/env"
[ -n "${CONTROLLER_MANAGER_PID:-}" ] && kill -9 "$CONTROLLER_MANAGER_PID" 2>/dev/null
kill "$APISERVER_PID" 2>/dev/null
for _ in $(seq 1 50); do kill -0 "$APISERVER_PID" 2>/dev/null || break; sleep 0.1; done
kill -9 "$APISERVER_PID" 2>/dev/null
kill "$ETCD_PID" 2>/dev/null
for _ in $(seq 1 50); do kill -0 "$ETCD_PID" 2>/dev/null || break; sleep 0.1; done
kill -9 "$ETCD_PID" 2>/dev/null
exit 0
