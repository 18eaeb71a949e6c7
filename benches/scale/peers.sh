#!/usr/bin/env bash
# Installs the peer tools benches/scale/run.py compares against, once, into
# ~/.cache/kube-evidence/peers/bin (a setup step: run.py itself fetches nothing).
#
# kubectl-who-can is built from its Go module. rbac-tool and rbac-police are not served by the
# Go module proxy this machine can reach (every version answers 403); when their binaries are
# placed in the same directory by hand (built from upstream sources inside their own module
# directories, as rbac-tool's replace directives require) run.py includes them, otherwise its
# table says they were skipped.
set -euo pipefail
KUBECTL_WHO_CAN_VERSION=v0.4.0
cache="${KUBE_EVIDENCE_CACHE:-$HOME/.cache/kube-evidence}"
bin="$cache/peers/bin"
mkdir -p "$bin"
stamp="$bin/.kubectl-who-can-$KUBECTL_WHO_CAN_VERSION"
if [[ ! -x "$bin/kubectl-who-can" || ! -e "$stamp" ]]; then
  command -v go >/dev/null || { echo "peers: go is not installed" >&2; exit 1; }
  # A throwaway module that requires it (`go install pkg@version` also asks the proxy for the
  # module's version list, which it refuses here).
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (
    cd "$work"
    go mod init kube-evidence.bench/peers >/dev/null 2>&1
    printf 'package tools\n\nimport _ "github.com/aquasecurity/kubectl-who-can/cmd/kubectl-who-can"\n' >tools.go
    printf '\nrequire github.com/aquasecurity/kubectl-who-can %s\n' "$KUBECTL_WHO_CAN_VERSION" >>go.mod
    go mod tidy
    CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -o "$bin/kubectl-who-can" \
      github.com/aquasecurity/kubectl-who-can/cmd/kubectl-who-can
  )
  touch "$stamp"
fi
for tool in kubectl-who-can rbac-tool rbac-police; do
  if [[ -x "$bin/$tool" ]]; then echo "$tool: $bin/$tool"; else echo "$tool: not installed (run.py skips it)"; fi
done
