#!/usr/bin/env bash
# Fuzzes every reader of outside input with cargo-fuzz (libFuzzer).
# Usage: fuzz/run.sh SECONDS_PER_TARGET [TARGET...]   (default: every target)
# Corpora grow under ~/.cache/kube-evidence/fuzz-corpus/<target> (seeded from samples/, the
# test fixtures and tests/bad-inputs/); a crash, hang (10 s) or out-of-memory (2 GiB) leaves its
# input in fuzz/artifacts/<target>/ and fails the run. Prints executions and coverage per target;
# libFuzzer's own log of each run is kept in ~/.cache/kube-evidence/fuzz-logs/<target>-<time>-<pid>.log.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
seconds="${1:?usage: fuzz/run.sh SECONDS_PER_TARGET [TARGET...]}"
shift
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(dump_yaml dump_json config inventory controls exceptions snapshot allowed_signers verify_pack audit_log reviews campaigns outputs vendor_catalog timestamp_reply)
fi

cache="${KUBE_EVIDENCE_CACHE:-$HOME/.cache/kube-evidence}"
fuzz_version="0.13.2"
cargo_fuzz="$cache/cargo-fuzz-$fuzz_version/bin/cargo-fuzz"
if [ ! -x "$cargo_fuzz" ]; then
    echo "==> installing cargo-fuzz $fuzz_version"
    cargo install --locked cargo-fuzz --version "$fuzz_version" --root "$cache/cargo-fuzz-$fuzz_version" >/dev/null
fi
export PATH="$cache/cargo-fuzz-$fuzz_version/bin:$PATH"
# libFuzzer's instrumentation needs a nightly compiler; without one, the stable compiler is
# allowed nightly flags (no sanitizer is used: the code is safe Rust, and what is looked for is
# panics, stack overflows, hangs and memory blow-ups).
if rustup run nightly rustc --version >/dev/null 2>&1; then
    toolchain=(+nightly)
    compiler="$(rustup run nightly rustc --version | awk '{print $2 "-" $4}' | tr -d ')')"
else
    toolchain=()
    export RUSTC_BOOTSTRAP=1
    compiler="$(rustc --version | awk '{print $2}')"
fi
clone_key="$(printf '%s' "$here" | sha256sum | cut -c1-12)"
export CARGO_TARGET_DIR="$cache/target-fuzz-$compiler-$clone_key"

echo "==> building kube-evidence for the seeds"
# The tool itself (for the seeds) is built as tests/run.sh builds it, into the same directory.
tool_target="$cache/target-rust-$(rustc --version | awk '{print $2}')-$clone_key"
tests/prune-cache.sh "$cache" "$here" "$tool_target" "$CARGO_TARGET_DIR"
CARGO_TARGET_DIR="$tool_target" env -u RUSTC_BOOTSTRAP cargo build --quiet --locked --bin kube-evidence
bin="$tool_target/debug/kube-evidence"
# (The fuzz targets themselves are built by `cargo fuzz run` below, with the flags it runs with.)

# A real store of two signed packs for verify_pack, made fresh with the sample run.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin" keygen --out "$work/key" --identity fuzz@kube-evidence >/dev/null
for now in 2026-11-19T02:00:00Z 2026-11-20T02:00:00Z; do
    KUBE_EVIDENCE_NOW="$now" KUBE_EVIDENCE_LOG_LEVEL=error "$bin" run --config samples/config.yaml \
        --out "$work/store" --signing-key "$work/key" >/dev/null
done
export KUBE_EVIDENCE_FUZZ_STORE="$work"

seeds="$work/seeds"
seed() { # seed TARGET FILE... (copied in as they are)
    mkdir -p "$seeds/$1"
    local t="$1"
    shift
    for f in "$@"; do [ -f "$f" ] && cp "$f" "$seeds/$t/$(sha256sum "$f" | cut -c1-16)"; done
    return 0
}
catalog() { find tests/bad-inputs -type f -path "*/$1/*" ! -name '*.expect' 2>/dev/null || true; }
seed dump_yaml $(find samples/cluster tests/fixtures/dumps -name '*.yaml') $(catalog dump)
seed dump_json $(find samples/cluster tests/fixtures/dumps -name '*.json') $(catalog dump)
seed config samples/config.yaml $(catalog config)
seed inventory samples/inventory.yaml $(catalog inventory)
seed controls controls/*.yaml $(catalog controls)
seed exceptions samples/exceptions.yaml $(catalog exceptions)
seed audit_log tests/fixtures/audit/rotated/*
seed reviews tests/fixtures/reviews/* $(catalog reviews) $(catalog decisions)
seed campaigns $(catalog campaigns)
mkdir -p "$seeds/outputs"
for p in reports/a.html store/x store/c/y store/c/packs/2026/12/01/P/z into-pack/z into-store/c/q \
    'reports/../store/c/q' './into-pack/../x' 'reports/./b/c.pdf'; do
    printf '%s' "$p" >"$seeds/outputs/$(printf '%s' "$p" | sha256sum | cut -c1-16)"
done
seed vendor_catalog catalog/vendors.yaml $(catalog vendor-catalog)
"$bin" snapshot --config samples/config.yaml --output "$work/s.json.gz" >/dev/null 2>&1
gunzip -c "$work/s.json.gz" >"$work/s.json"
seed snapshot "$work/s.json.gz" "$work/s.json" $(catalog snapshot)
latest_path="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["path"])' "$work/store/sample-prod-eu-1/latest.json")"
{ cat "$work/store/$latest_path/manifest.json.sig"; cat "$work/key.allowed_signers"; } >"$work/signers-seed"
seed allowed_signers "$work/key.allowed_signers" "$work/signers-seed" $(catalog allowed-signers)
mkdir -p "$seeds/verify_pack"
i=0
for f in latest.json manifest.json SHA256SUMS SHA256SUMS.sig manifest.json.sig snapshot.json.gz findings.json trend.json; do
    src="$work/store/$latest_path/$f"
    [ "$f" = latest.json ] && src="$work/store/sample-prod-eu-1/latest.json"
    { printf "\\$(printf '%03o' "$i")"; cat "$src"; } >"$seeds/verify_pack/$f"
    i=$((i + 1))
done

# A time-stamping authority's certificate and replies it signed for the target's manifest.
tsa="$work/tsa"
mkdir -p "$tsa" "$seeds/timestamp_reply"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$tsa/tsa.key" \
    -out "$tsa/tsa.crt" -days 3650 -subj /CN=fuzz-tsa -addext "extendedKeyUsage=critical,timeStamping" 2>/dev/null
printf 'kube-evidence fuzz manifest\n' >"$tsa/manifest"
printf '01\n' >"$tsa/serial"
printf '[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = %s\nsigner_cert = %s\nsigner_key = %s\nsigner_digest = sha256\ndefault_policy = 1.3.6.1.4.1.55555.1\ndigests = sha256\ness_cert_id_alg = sha256\n' \
    "$tsa/serial" "$tsa/tsa.crt" "$tsa/tsa.key" >"$tsa/tsa.cnf"
for opt in -cert -no_nonce; do
    openssl ts -query -data "$tsa/manifest" -sha256 $opt -out "$tsa/q$opt.tsq" 2>/dev/null
    openssl ts -reply -config "$tsa/tsa.cnf" -queryfile "$tsa/q$opt.tsq" -out "$seeds/timestamp_reply/r$opt.tsr" 2>/dev/null
done
cp "$tsa/tsa.crt" "$seeds/timestamp_reply/cert.pem"
export KUBE_EVIDENCE_FUZZ_TSA_CERT="$tsa/tsa.crt"

failed=0
logs="$cache/fuzz-logs"
mkdir -p "$logs"
for t in "${targets[@]}"; do
    corpus="$cache/fuzz-corpus/$t"
    mkdir -p "$corpus" "fuzz/artifacts/$t"
    log="$logs/$t-$(date -u +%Y%m%dT%H%M%SZ)-$$.log"
    echo "==> fuzzing $t for ${seconds}s (log: $log)"
    if cargo "${toolchain[@]}" fuzz run -s none --debug-assertions --fuzz-dir fuzz --target-dir "$CARGO_TARGET_DIR" "$t" "$corpus" "$seeds/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -max_len=262144 -print_final_stats=1 -close_fd_mask=1 >"$log" 2>&1; then
        execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{print $2}' || true)"
        done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" || true)"
        cov="$(printf '%s' "$done_line" | grep -o 'cov: [0-9]*' | awk '{print $2}' || true)"
        ft="$(printf '%s' "$done_line" | grep -o 'ft: [0-9]*' | awk '{print $2}' || true)"
        size="$(find "$corpus" -type f | wc -l)"
        echo "    ok: ${execs:-?} executions in ${seconds}s, coverage ${cov:-?} edges (${ft:-?} features), corpus $size inputs"
    else
        failed=1
        echo "    FAILED: a crash, hang or out-of-memory; the input is in fuzz/artifacts/$t/" >&2
        grep -E "panicked|ERROR: libFuzzer|SUMMARY|Test unit written" "$log" | head -20 >&2 || true
    fi
done
exit "$failed"
