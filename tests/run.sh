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

# Tools the report tests drive for real: a headless browser for report.html, qpdf and poppler
# for report.pdf. Installed from Debian's packages when missing.
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v qpdf >/dev/null 2>&1 || need+=(qpdf)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
if [ "${#need[@]}" -gt 0 ]; then
    echo "==> installing ${need[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

echo "==> cargo test (target dir: $CARGO_TARGET_DIR)"
# --include-ignored: the tests marked #[ignore] are those that need the tools installed above.
cargo test --locked "$@" -- --include-ignored
