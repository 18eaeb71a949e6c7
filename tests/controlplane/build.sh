#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and etcd from their published Go modules, once per version, into
# ~/.cache/kube-evidence/control-plane-<kube>-<etcd>/bin. Prints that bin directory on success.
# Go is used here only to build the test control plane; the product is Rust.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
cache="${KUBE_EVIDENCE_CACHE:-$HOME/.cache/kube-evidence}"
# RECIPE changes whenever this script builds differently, so the cache is rebuilt.
RECIPE=3
out="$cache/control-plane-$KUBE_VERSION-$ETCD_VERSION-r$RECIPE"
bin="$out/bin"
if [[ -x "$bin/kube-apiserver" && -x "$bin/kube-controller-manager" && -x "$bin/etcd" ]]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "control plane: go is not installed; it is needed to build kube-apiserver and etcd" >&2; exit 1; }
staging_minor="0.${KUBE_VERSION#1.}"
work="$out/src"
rm -rf "$work"
mkdir -p "$work/apiserver" "$work/etcd" "$bin"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

# kube-apiserver: k8s.io/kubernetes requires every staging module at v0.0.0 and replaces it with a local
# path, which a consumer cannot use, so each one is replaced with its published v0.<minor>.<patch>.
(
  cd "$work/apiserver"
  {
    echo "module kube-evidence.test/apiserver"
    echo
    echo "go 1.24"
    echo
    echo "require k8s.io/kubernetes v$KUBE_VERSION"
    echo
    echo "replace ("
    for m in api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider \
      cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api \
      cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms \
      kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics \
      mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller; do
      echo "  k8s.io/$m => k8s.io/$m v$staging_minor"
    done
    echo ")"
  } >go.mod
  cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
GO
  go mod tidy >&2
  # The version the server reports (/version), as release builds stamp it.
  minor="${KUBE_VERSION#1.}"
  minor="${minor%%.*}"
  ver="k8s.io/component-base/version"
  go build -trimpath -ldflags="-s -w -X $ver.gitVersion=v$KUBE_VERSION -X $ver.gitMajor=1 -X $ver.gitMinor=$minor -X $ver.gitTreeState=clean" \
    -o "$bin/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2
  mv "$bin/kube-apiserver.tmp" "$bin/kube-apiserver"
  # Only its clusterrole-aggregation controller is run, so aggregated ClusterRoles hold the rules
  # a real cluster's would.
  go build -trimpath -ldflags="-s -w -X $ver.gitVersion=v$KUBE_VERSION -X $ver.gitMajor=1 -X $ver.gitMinor=$minor -X $ver.gitTreeState=clean" \
    -o "$bin/kube-controller-manager.tmp" k8s.io/kubernetes/cmd/kube-controller-manager >&2
  mv "$bin/kube-controller-manager.tmp" "$bin/kube-controller-manager"
)

# etcd: the same main package the etcd repository ships (server/main.go).
(
  cd "$work/etcd"
  printf 'module kube-evidence.test/etcd\n\ngo 1.24\n' >go.mod
  cat >main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >&2
  go mod tidy >&2
  go build -trimpath -ldflags="-s -w" -o "$bin/etcd.tmp" . >&2
  mv "$bin/etcd.tmp" "$bin/etcd"
)
echo "$bin"
