#!/usr/bin/env bash
# Runs SeaweedFS (`weed mini`) as a test S3 server: every listener on 127.0.0.1, ports from BASE
# upwards (BASE is the S3 port), data and logs under DIR, signature checking on through the
# identities file, telemetry off. The volume count is fixed rather than derived from free disk space
# (the default): on a nearly full disk the auto-configured count runs out once the tests' Object
# Lock buckets each take their own volumes, and every write then fails with HTTP 500. Execs the server, so the caller's pid is the server's.
# Usage: tests/s3/weed.sh WEED_BINARY DIR BASE_PORT BUCKET ACCESS_KEY SECRET_KEY
set -euo pipefail
weed="$1" dir="$2" base="$3" bucket="$4" access="$5" secret="$6"
mkdir -p "$dir/data" "$dir/logs"
cat >"$dir/s3.json" <<JSON
{"identities":[{"name":"kube-evidence-test","credentials":[{"accessKey":"$access","secretKey":"$secret"}],"actions":["Admin","Read","Write","List","Tagging"]}]}
JSON
exec "$weed" -logdir="$dir/logs" mini \
  -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
  -master.telemetry=false -admin.ui=false -webdav=false \
  -s3.config="$dir/s3.json" -bucket="$bucket" \
  -s3.port="$base" -s3.port.grpc="$((base + 1))" \
  -master.port="$((base + 2))" -master.port.grpc="$((base + 3))" \
  -volume.port="$((base + 4))" -volume.port.grpc="$((base + 5))" \
  -filer.port="$((base + 6))" -filer.port.grpc="$((base + 7))" \
  -admin.port="$((base + 8))" -metricsPort="$((base + 9))" -webdav.port="$((base + 10))" \
  -volume.max=200 -master.volumeSizeLimitMB=64 \
  -s3.port.iceberg=0 -s3.port.lance=0
