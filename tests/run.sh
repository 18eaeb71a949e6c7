#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs and starts the real servers the integration tests
# need (cached under ~/.cache/kube-evidence), then runs `cargo test` including the tests that need
# them. Usage: tests/run.sh [extra cargo test arguments]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

cache="${KUBE_EVIDENCE_CACHE:-$HOME/.cache/kube-evidence}"
mkdir -p "$cache"
# One cargo target directory per toolchain, outside the clone, so repeated runs build incrementally.
rustc_version="$(rustc --version | awk '{print $2}')"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target-rust-$rustc_version}"

echo "==> cargo test (target dir: $CARGO_TARGET_DIR)"
cargo test --locked "$@"
