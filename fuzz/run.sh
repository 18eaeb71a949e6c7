#!/usr/bin/env bash
# Fuzzes every reader of outside input with cargo-fuzz (libFuzzer).
# Usage: fuzz/run.sh SECONDS_PER_TARGET [TARGET...]   (default: every target)
# Corpora grow under ~/.cache/kube-evidence/fuzz-corpus/<target>, seeded with the inputs
# tests/integration/fuzz_replay.rs makes (samples/, the test fixtures, tests/bad-inputs/, a store of
# signed packs, time-stamp replies) and fuzz/regressions/<target>/; a crash, hang (10 s) or
# out-of-memory (2 GiB) leaves its input in fuzz/artifacts/<target>/ and fails the run. `cargo
# test` replays the seeds, the regressions and the cached corpus through the same functions
# (fuzz/targets/) on the stable toolchain; this script is the fuzzing itself, run apart. Prints executions and coverage per target;
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

echo "==> making the seeds (tests/integration/fuzz_replay.rs: the seeds cargo test replays)"
# The integration tests are built as tests/run.sh builds them, into the same directory.
tool_target="$cache/target-rust-$(rustc --version | awk '{print $2}')-$clone_key"
tests/prune-cache.sh "$cache" "$here" "$tool_target" "$CARGO_TARGET_DIR"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
seeds="$work/seeds"
if ! CARGO_TARGET_DIR="$tool_target" KUBE_EVIDENCE_FUZZ_SEEDS="$seeds" env -u RUSTC_BOOTSTRAP \
    cargo test --quiet --locked --test integration fuzz_replay::write_fuzz_seeds -- --ignored --exact \
    >"$work/seeds.log" 2>&1; then
    cat "$work/seeds.log" >&2
    echo "error: making the seeds failed" >&2
    exit 1
fi
# The store of signed packs and the time-stamping authority's certificate the targets check
# against (KUBE_EVIDENCE_FUZZ_STORE, KUBE_EVIDENCE_FUZZ_TSA_CERT).
set -a
. "$seeds/fixtures.env"
set +a

failed=0
logs="$cache/fuzz-logs"
mkdir -p "$logs"
for t in "${targets[@]}"; do
    corpus="$cache/fuzz-corpus/$t"
    mkdir -p "$corpus" "fuzz/artifacts/$t"
    log="$logs/$t-$(date -u +%Y%m%dT%H%M%SZ)-$$.log"
    echo "==> fuzzing $t for ${seconds}s (log: $log)"
    # Inputs: the corpus (grown here), the seeds, and the committed regressions.
    inputs=("$corpus" "$seeds/$t")
    [ -d "fuzz/regressions/$t" ] && inputs+=("fuzz/regressions/$t")
    if cargo "${toolchain[@]}" fuzz run -s none --debug-assertions --fuzz-dir fuzz --target-dir "$CARGO_TARGET_DIR" "$t" "${inputs[@]}" -- \
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
