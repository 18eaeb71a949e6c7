#!/usr/bin/env bash
# The fleet report over 200 clusters x 365 nightly packs on a local S3-compatible server: starts
# SeaweedFS (as tests/run.sh does), makes one real findings.json from the samples, runs
# `cargo bench --bench fleet` (generates the bucket, measures the library in-process and counts
# requests), then times `kube-evidence fleet report` end to end with its peak memory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
port=27500
. benches/start-weed.sh
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/kube-evidence"
KUBE_EVIDENCE_NOW=2026-11-29T02:00:00Z "$bin" run --config samples/config.yaml --unsigned --out "$dir/sample" >/dev/null
export FLEET_BENCH_FINDINGS="$(find "$dir/sample" -name findings.json | head -1)"
export FLEET_BENCH_SIGNERS_OUT="$dir/allowed_signers"
cargo bench --bench fleet
for i in 1 2 3; do
    rm -rf "$dir/report"
    KUBE_EVIDENCE_NOW=2026-11-29T08:00:00Z /usr/bin/time -f "cli round $i: %e s wall, %M KiB peak RSS" \
        "$bin" fleet report --store "s3://evidence/fleet-bench" --s3-endpoint "$KUBE_EVIDENCE_TEST_S3_ENDPOINT" \
        --allowed-signers "$FLEET_BENCH_SIGNERS_OUT" --out "$dir/report" >/dev/null
done
ls -l "$dir/report"
