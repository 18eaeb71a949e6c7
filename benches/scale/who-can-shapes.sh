#!/usr/bin/env bash
# who-can on a cluster of either generator shape, side by side with kubectl-who-can, and whether
# they name the same subjects (issue 31). For the shape and size given:
#   1. `examples/scale.rs pack SHAPE N` writes the cluster's snapshot;
#   2. a test control plane (tests/controlplane) is started on 127.0.0.1 and the snapshot's RBAC is
#      created in it (`examples/gen-cluster.rs --snapshot`);
#   3. each command runs RUNS times, interleaved, and the median wall time and peak RSS are
#      printed: `who-can --source cluster`, `who-can --snapshot`, kubectl-who-can (built once by
#      benches/scale/peers.sh; skipped, and said so, when absent);
#   4. for four questions, the subjects each names are compared. The snapshot lacks the API
#      server's own bootstrap bindings, so its answer is compared with the live one less those.
# Usage: benches/scale/who-can-shapes.sh [tidy|messy] [NAMESPACES] [RUNS]
set -euo pipefail
shape="${1:-messy}" namespaces="${2:-5000}" runs="${3:-10}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
work="$(mktemp -d)"
cp_dir="$work/cp"
cleanup() {
  tests/controlplane/stop.sh "$cp_dir" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --features synthetic --bin kube-evidence --example scale --example gen-cluster >&2
bin="$target/release/kube-evidence"
peer="${KUBE_EVIDENCE_CACHE:-$HOME/.cache/kube-evidence}/peers/bin/kubectl-who-can"

echo "==> $shape, $namespaces namespaces: writing the snapshot" >&2
mkdir -p "$work/pack"
SCALE_OUT="$work/pack" "$target/release/examples/scale" pack "$shape" "$namespaces" >/dev/null
snapshot="$work/pack/snapshot.json.gz"

echo "==> starting a control plane and loading the cluster" >&2
kube_bin="$(tests/controlplane/build.sh)"
port=$((40000 + RANDOM % 2000))
tests/controlplane/start.sh "$kube_bin" "$cp_dir" "$port" >/dev/null
kubeconfig="$cp_dir/admin.kubeconfig"
"$target/release/examples/gen-cluster" --snapshot "$snapshot" --load "$kubeconfig" 2>&1 | tail -1 >&2
# Let the aggregation controller settle the aggregated ClusterRoles it was just given.
sleep 20

ns=ns-00042
measure() { # name, command...: RUNS wall times and peak RSS, the median of each
  local name="$1"
  shift
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %M' "$@" 2>&1 >/dev/null | tail -1
  done | sort -n | awk -v name="$name" '{ t[NR] = $1; m[NR] = $2 } END {
    printf "| %s | %.2f s | %.0f MiB | %d |\n", name, t[int((NR + 1) / 2)], m[int((NR + 1) / 2)] / 1024, NR }'
}
echo "| command ($shape, $namespaces namespaces, get secrets -n $ns) | median wall | median peak RSS | runs |"
echo "|---|---|---|---|"
measure "kube-evidence who-can --source cluster" \
  "$bin" who-can get secrets -n "$ns" --source cluster --kubeconfig "$kubeconfig" --format json
measure "kube-evidence who-can --snapshot" \
  "$bin" who-can get secrets -n "$ns" --snapshot "$snapshot" --format json
if [[ -x "$peer" ]]; then
  measure "kubectl-who-can (v0.4.0)" "$peer" get secrets -n "$ns" --kubeconfig "$kubeconfig" -o json
else
  echo "| kubectl-who-can | skipped: not installed (benches/scale/peers.sh) | | |"
fi

echo
echo "| question | live | snapshot | kubectl-who-can | only live | only kubectl-who-can | snapshot less live | live less snapshot |"
echo "|---|---|---|---|---|---|---|---|"
for q in "get secrets ns-00042" "create pods ns-04321" "create deployments ns-00042" "get secrets ns-01234"; do
  read -r verb resource qns <<<"$q"
  "$bin" who-can "$verb" "$resource" -n "$qns" --source cluster --kubeconfig "$kubeconfig" --format json >"$work/live.json"
  "$bin" who-can "$verb" "$resource" -n "$qns" --snapshot "$snapshot" --format json >"$work/snap.json"
  if [[ -x "$peer" ]]; then
    "$peer" "$verb" "$resource" -n "$qns" --kubeconfig "$kubeconfig" -o json >"$work/peer.json"
  else
    echo '{}' >"$work/peer.json"
  fi
  python3 - "$work" "$q" "$qns" <<'EOF'
import json, os, sys
sys.path.insert(0, os.path.join(os.getcwd(), "benches", "scale"))
from run import kube_evidence_subjects, kubectl_who_can_subjects  # the parsers run.py compares with
work, question, ns = sys.argv[1:]
read = lambda name: open(f"{work}/{name}").read()
live, snap = kube_evidence_subjects(read("live.json")), kube_evidence_subjects(read("snap.json"))
peer = read("peer.json").strip() != "{}"
theirs = kubectl_who_can_subjects(read("peer.json"), ("", "", ns)) if peer else set()
extra = sorted("/".join(x for x in s if x) for s in live - snap)
print(f"| {question} | {len(live)} | {len(snap)} | {len(theirs) if peer else 'skipped'} | "
      f"{len(live - theirs) if peer else '-'} | {len(theirs - live) if peer else '-'} | "
      f"{len(snap - live)} | {', '.join(extra) or 'none'} |")
EOF
done
