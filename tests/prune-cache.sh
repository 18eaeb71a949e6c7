#!/usr/bin/env bash
# Removes the build directories in the cache that no clone uses any more, and records that
# CARGO_TARGET_DIR belongs to this clone.
#
# Target directories are keyed by the clone's path (see tests/run.sh), so every new clone adds
# one of several GB; CI clones into a fresh path each time. Left alone, the cache grows until the
# disk is full, and then the suite fails far from the cause (SeaweedFS turns every volume
# read-only below 1 % free disk, and every S3 write answers HTTP 500).
#
# Each target directory names its clone in `.clone-path`; one whose clone no longer exists is
# removed. A directory without that file (made before this script) is removed once nothing in it
# has changed for an hour, so a build running in it now is never pulled from under it.
# Usage: tests/prune-cache.sh CACHE_DIR CLONE_DIR TARGET_DIR...
set -euo pipefail
cache="$1" clone="$2"
shift 2
for own in "$@"; do
    mkdir -p "$own"
    printf '%s\n' "$clone" >"$own/.clone-path"
done
shopt -s nullglob
for dir in "$cache"/target-*/; do
    dir="${dir%/}"
    mine=""
    for own in "$@"; do [ "$dir" -ef "$own" ] && mine=1; done
    [ -n "$mine" ] && continue
    if [ -f "$dir/.clone-path" ]; then
        owner="$(head -n 1 "$dir/.clone-path")"
        [ -d "$owner" ] && continue
        reason="its clone $owner is gone"
    else
        [ -n "$(find "$dir" -maxdepth 3 -newermt '-1 hour' -print -quit 2>/dev/null)" ] && continue
        reason="it names no clone and has not been used for an hour"
    fi
    echo "    removing $dir ($(du -sh "$dir" 2>/dev/null | cut -f1); $reason)"
    rm -rf "$dir"
done
