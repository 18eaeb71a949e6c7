#!/usr/bin/env bash
# Publishing throughput to a local S3-compatible server: starts SeaweedFS (as tests/run.sh does),
# runs `cargo bench --bench s3_publish` (release), stops the server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
port=27400
. benches/start-weed.sh
cargo bench --bench s3_publish
