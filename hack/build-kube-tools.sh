#!/usr/bin/env bash
# Builds the Kubernetes tools the packaging check runs (kube-apiserver and
# kubectl at KUBE_VERSION, helm at HELM_VERSION) from the Go module proxy into
# the cache, and prints the directory that holds them. No registry or release
# download is reachable on the build machines, so everything comes from source.
#
# kube-apiserver cannot be `go install`ed: k8s.io/kubernetes replaces its
# staging modules with ./staging paths. A wrapper module outside the repo
# requires k8s.io/kubernetes and replaces every staging module with its
# published v0.X.Y twin (the list comes from k8s.io/kubernetes's own go.mod),
# so the project's go.mod never sees Kubernetes. Builds are reused while the
# binaries report the pinned versions; the Go build cache makes rebuilds cheap.
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
HELM_VERSION=${HELM_VERSION:-v3.22.0}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/lvm-iscsi-csi
bindir=$cache/kube-tools-$KUBE_VERSION-helm-$HELM_VERSION/bin
mkdir -p "$bindir"

log() { echo "build-kube-tools: $*" >&2; }

# has_version BINARY WORD...: the binary exists and its version output contains WORD.
has_version() {
  local bin=$1; shift
  [ -x "$bin" ] || return 1
  local out
  out=$("$bin" "$@" 2>/dev/null) || return 1
  grep -q -- "$VERSION_WANT" <<<"$out"
}

build_kube() {
  local wrapper=$cache/kube-wrapper-$KUBE_VERSION
  local staging_version=v0.${KUBE_VERSION#v1.}
  if [ ! -f "$wrapper/go.sum" ]; then
    log "writing the wrapper module for k8s.io/kubernetes $KUBE_VERSION in $wrapper"
    rm -rf "$wrapper" && mkdir -p "$wrapper"
    local kmod
    kmod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
    [ -f "$kmod" ] || { log "cannot download k8s.io/kubernetes@$KUBE_VERSION"; return 1; }
    (
      cd "$wrapper"
      go mod init lvm-iscsi-csi.local/kube-tools >/dev/null 2>&1
      go mod edit -require="k8s.io/kubernetes@$KUBE_VERSION"
      # sample-* modules are examples the proxy does not serve and nothing imports.
      grep -oE '^[[:space:]]*k8s\.io/[a-z0-9-]+ => \./staging/' "$kmod" | awk '{print $1}' |
        grep -v '^k8s.io/sample-' | while read -r m; do
          go mod edit -replace="$m=$m@$staging_version"
        done
      cat >tools.go <<'EOF'
//go:build tools

// Package tools pins the Kubernetes commands this wrapper module builds.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
      GOFLAGS=-mod=mod go mod tidy
    )
  fi
  local pkg ldflags=""
  local major=1 minor=${KUBE_VERSION#v1.}
  minor=${minor%%.*}
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean"
  done
  local cmd
  for cmd in kube-apiserver kubectl; do
    log "building $cmd $KUBE_VERSION (cold: minutes; warm Go build cache: seconds)"
    (cd "$wrapper" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w$ldflags" -o "$bindir/$cmd" "k8s.io/kubernetes/cmd/$cmd")
  done
}

VERSION_WANT=$KUBE_VERSION
if ! has_version "$bindir/kube-apiserver" --version || ! has_version "$bindir/kubectl" version --client; then
  build_kube
fi

# helm's idea of the Kubernetes version when no cluster is asked (helm
# template, helm lint) is fixed at build time; without these flags it is 1.20
# and charts asking for a newer kubeVersion do not render. A marker file keeps
# the version the binary was built with.
VERSION_WANT=$HELM_VERSION
kube_minor=${KUBE_VERSION#v1.}
kube_minor=${kube_minor%%.*}
if ! has_version "$bindir/helm" version --short || [ "$(cat "$bindir/helm.kube-version" 2>/dev/null)" != "$KUBE_VERSION" ]; then
  log "building helm $HELM_VERSION"
  helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$kube_minor"
  done
  GOBIN=$bindir CGO_ENABLED=0 go install -trimpath -ldflags "$helm_ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  echo "$KUBE_VERSION" >"$bindir/helm.kube-version"
fi

VERSION_WANT=$KUBE_VERSION
has_version "$bindir/kube-apiserver" --version
has_version "$bindir/kubectl" version --client
VERSION_WANT=$HELM_VERSION
has_version "$bindir/helm" version --short
echo "$bindir"
