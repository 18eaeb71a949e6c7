# Sourced by the S3 benchmarks with `port` set: starts SeaweedFS as tests/run.sh does, on
# 127.0.0.1:$port, exports the KUBE_EVIDENCE_TEST_S3_* and AWS variables the benchmarks read,
# waits until the bucket answers, and stops the server (and removes its data in $dir) on exit.
weed="$(tests/s3/install-weed.sh)"
dir="$(mktemp -d)"
export KUBE_EVIDENCE_TEST_S3_ENDPOINT="http://127.0.0.1:$port" KUBE_EVIDENCE_TEST_S3_BUCKET=evidence
export AWS_ACCESS_KEY_ID=benchaccess AWS_SECRET_ACCESS_KEY=benchsecret0123456789 AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
tests/s3/weed.sh "$weed" "$dir/server" "$port" evidence "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$dir/weed.out" 2>&1 &
weed_pid=$!
trap 'kill $weed_pid 2>/dev/null; wait $weed_pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 180); do
    curl -fsS -o /dev/null --max-time 2 --aws-sigv4 "aws:amz:us-east-1:s3" \
        --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$KUBE_EVIDENCE_TEST_S3_ENDPOINT/evidence?list-type=2" 2>/dev/null && break
    sleep 0.5
done
