#!/usr/bin/env bash
# Installs a stock DSSE verifier, securesystemslib from PyPI (pinned), into a virtualenv in the
# cache, once; prints the path of its python. It uses the system's `cryptography` for Ed25519.
set -euo pipefail
version="1.3.0"
cache="${KUBE_EVIDENCE_CACHE:-$HOME/.cache/kube-evidence}"
dir="$cache/securesystemslib-$version"
py="$dir/bin/python"
if [[ -x "$py" ]] && "$py" -c "import securesystemslib.dsse, cryptography" 2>/dev/null; then
  echo "$py"
  exit 0
fi
rm -rf "$dir.tmp"
python3 -m venv --system-site-packages "$dir.tmp" >&2
"$dir.tmp/bin/python" -m pip install --quiet "securesystemslib[crypto]==$version" >&2
rm -rf "$dir"
mv "$dir.tmp" "$dir"
"$py" -c "import securesystemslib.dsse, cryptography" >&2
echo "$py"
