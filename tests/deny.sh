#!/usr/bin/env bash
# cargo deny check (advisories, licences, bans, sources; policy in deny.toml), with cargo-deny
# pinned and cached under ~/.cache/kube-evidence. The RustSec advisory database is fetched from
# GitHub; where GitHub is unreachable, the last copy fetched (or a local mirror of
# rustsec/advisory-db) is used and its date printed. Without any copy, the advisories check is
# reported as skipped, by name and why, and the other three still run.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
cache="${KUBE_EVIDENCE_CACHE:-$HOME/.cache/kube-evidence}"
version="0.20.2"
deny="$cache/cargo-deny-$version/bin/cargo-deny"
if [ ! -x "$deny" ]; then
    echo "    installing cargo-deny $version"
    cargo install --locked cargo-deny --version "$version" --root "$cache/cargo-deny-$version" >/dev/null
fi
# Where cargo-deny keeps the database it fetches from https://github.com/rustsec/advisory-db.
db="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/advisory-db-3157b0e258782691"
mirror="${KUBE_EVIDENCE_ADVISORY_DB_MIRROR:-/work/.mirror/rustsec+advisory-db/repo}"
if [ ! -d "$db/.git" ] && ! timeout 120 "$deny" fetch db >/dev/null 2>&1 && [ -d "$mirror" ]; then
    mkdir -p "$(dirname "$db")"
    git clone --quiet "$mirror" "$db"
fi
# Brings an existing copy up to date from where it came from (GitHub or the mirror).
timeout 120 "$deny" fetch db >/dev/null 2>&1 || true
if [ -d "$db/.git" ]; then
    checks=(advisories bans licenses sources)
    echo "    advisory database of $(git -C "$db" log -1 --format=%cs) ($(git -C "$db" remote get-url origin))"
else
    checks=(bans licenses sources)
    echo "    skipped advisories: no copy of the RustSec advisory database (github.com unreachable, no mirror)"
fi
# cargo-deny reads `cargo metadata`, which needs every platform's packages (wasm-bindgen and the
# like, never built here); on a new machine the registry holds none of them, so fetch them first
# (`cargo fetch` without --target fetches for every platform).
if ! cargo fetch --locked --quiet; then
    echo "error: cargo fetch failed: cargo deny needs every package in Cargo.lock" >&2
    exit 1
fi
status=0
out="$("$deny" --offline check "${checks[@]}" 2>&1)" || status=$?
if [ "$status" -ne 0 ]; then
    printf '%s\n' "$out"
    exit "$status"
fi
printf '%s\n' "$out" | tail -n 1 | sed 's/^/    /'
