#!/usr/bin/env bash
# Peak memory and one-shot times of the RBAC engine and of the diff at the target scale
# (release build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo run --release --example scale
cargo run --release --example scale -- diff
