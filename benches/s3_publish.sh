#!/usr/bin/env bash
# Publishing throughput to a local S3-compatible server: starts SeaweedFS (as tests/run.sh does),
# runs `cargo bench --bench s3_publish` (release), stops the server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
weed="$(tests/s3/install-weed.sh)"
dir="$(mktemp -d)"
port=27400
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
cargo bench --bench s3_publish
