#!/usr/bin/env bash
# Builds the Kubernetes control plane used by deploy/cluster-test.sh from Go modules at pinned
# versions, one binary at a time (GOFLAGS=-p=1, nice), into ~/.cache/sessiond-k8s-<version>/bin:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok and helm. A binary
# already in the cache is kept, so only a cold machine pays (about 1,400 CPU-seconds, 25-30 min on
# two shared cores). Prints the bin directory on its last line.
set -euo pipefail
K8S_VERSION=1.37.2
KWOK_VERSION=0.8.0
HELM_VERSION=3.22.0
export PATH="$PATH:/usr/local/go/bin"
CACHE="${SESSIOND_K8S_CACHE:-$HOME/.cache/sessiond-k8s-v$K8S_VERSION-kwok$KWOK_VERSION-helm$HELM_VERSION}"
BIN="$CACHE/bin"
SRC="$CACHE/src"
mkdir -p "$BIN" "$SRC"
# One package at a time by default (the machine's cores are shared); KUBE_BUILD_JOBS=2 halves the
# wall time on an otherwise idle machine.
export GOFLAGS="-p=${KUBE_BUILD_JOBS:-1} -buildvcs=false"
export CGO_ENABLED=0
GOBIN_NICE=(nice -n 10)

minor="${K8S_VERSION#*.}"
minor="${minor%%.*}"
staging_version="v0.$minor.${K8S_VERSION##*.}"
version_ldflags="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  version_ldflags+=" -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  version_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

# A scratch module that requires k8s.io/kubernetes and replaces its staging modules (local paths
# in its own go.mod) with their published versions.
prepare_module() {
  [[ -f "$SRC/go.sum" ]] && return
  (
    cd "$SRC"
    kube_mod="$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" |
      sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
    {
      echo "module sessiond.local/kube"
      echo
      echo "go 1.25"
      echo
      echo "require k8s.io/kubernetes v$K8S_VERSION"
      echo
      grep -oE '^[[:space:]]*k8s\.io/[a-z0-9-]+ => \./staging/' "$kube_mod" |
        awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}'
    } >go.mod
    cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    go mod tidy
  )
}

build_kube() {  # binary, package
  [[ -x "$BIN/$1" ]] && return
  echo "building $1" >&2
  (cd "$SRC" && "${GOBIN_NICE[@]}" go build -trimpath -ldflags "$version_ldflags" -o "$BIN/$1.tmp" "$2")
  mv "$BIN/$1.tmp" "$BIN/$1"
}

prepare_module
build_kube etcd go.etcd.io/etcd/server/v3
build_kube kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build_kube kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
build_kube kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler
build_kube kubectl k8s.io/kubernetes/cmd/kubectl
if [[ ! -x "$BIN/kwok" ]]; then
  echo "building kwok" >&2
  GOBIN="$BIN" "${GOBIN_NICE[@]}" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
fi
if [[ ! -x "$BIN/helm" ]]; then
  echo "building helm" >&2
  helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
  done
  GOBIN="$BIN" "${GOBIN_NICE[@]}" go install -trimpath -ldflags "$helm_ldflags" "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"
fi
# deploy/lib/cluster.sh renders kwok's stock stages from its module source.
go mod download "sigs.k8s.io/kwok@v$KWOK_VERSION"
echo "$BIN"
