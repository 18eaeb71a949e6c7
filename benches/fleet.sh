#!/usr/bin/env bash
# The fleet report over 200 clusters x 365 nightly packs on a local S3-compatible server: starts
# SeaweedFS (as tests/run.sh does), makes one real findings.json from the samples, runs
# `cargo bench --bench fleet` (generates the bucket, measures the library in-process and counts
# requests), then times `kube-evidence fleet report` end to end with its peak memory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
weed="$(tests/s3/install-weed.sh)"
dir="$(mktemp -d)"
port=27500
export KUBE_EVIDENCE_TEST_S3_ENDPOINT="http://127.0.0.1:$port" KUBE_EVIDENCE_TEST_S3_BUCKET=evidence
export AWS_ACCESS_KEY_ID=benchaccess AWS_SECRET_ACCESS_KEY=benchsecret0123456789 AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
tests/s3/weed.sh "$weed" "$dir/server" "$port" evidence "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$dir/weed.out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 180); do
    curl -fsS -o /dev/null --max-time 2 --aws-sigv4 "aws:amz:us-east-1:s3" \
        --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$KUBE_EVIDENCE_TEST_S3_ENDPOINT/evidence?list-type=2" && break
    sleep 0.5
done
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
