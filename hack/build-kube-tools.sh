#!/usr/bin/env bash
# Builds the Kubernetes tools the packaging check runs (kube-apiserver and
# kubectl at KUBE_VERSION, helm at HELM_VERSION) from the Go module proxy into
# the cache, and prints the directory that holds them. No registry or release
# download is reachable on the build machines, so everything comes from source.
#
#   hack/build-kube-tools.sh             kube-apiserver, kubectl, helm (make packaging)
#   hack/build-kube-tools.sh --cluster   also kubelet, kube-controller-manager and
#                                        kube-scheduler: a whole node (make k8s-e2e)
#
# kube-apiserver cannot be `go install`ed: k8s.io/kubernetes replaces its
# staging modules with ./staging paths. A wrapper module outside the repo
# requires k8s.io/kubernetes and replaces every staging module with its
# published v0.X.Y twin (the list comes from k8s.io/kubernetes's own go.mod),
# so the project's go.mod never sees Kubernetes. Builds are reused while the
# binaries report the pinned versions; the Go build cache makes rebuilds cheap.
set -euo pipefail

cluster=false
case ${1:-} in
  "") ;;
  --cluster) cluster=true ;;
  *) echo "usage: $0 [--cluster]" >&2; exit 2 ;;
esac

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
HELM_VERSION=${HELM_VERSION:-v3.22.0}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/lvm-iscsi-csi
bindir=$cache/kube-tools-$KUBE_VERSION-helm-$HELM_VERSION/bin
mkdir -p "$bindir"
# One build at a time per machine: the wrapper module and the binaries are shared.
exec 8>"$cache/.build-kube-tools.lock"
flock 8

log() { echo "build-kube-tools: $*" >&2; }

# Every command the wrapper module can build: the module graph (go.sum) is the
# same for both uses, so switching between them never downloads or tidies again.
kube_cmds=(kube-apiserver kubectl kubelet kube-controller-manager kube-scheduler)
wanted=(kube-apiserver kubectl)
$cluster && wanted+=(kubelet kube-controller-manager kube-scheduler)

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
  local tools_go cmd
  tools_go=$(
    printf '//go:build tools\n\n// Package tools pins the Kubernetes commands this wrapper module builds.\npackage tools\n\nimport (\n'
    for cmd in "${kube_cmds[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$cmd"; done
    printf ')\n'
  )
  # A wrapper written for fewer commands (an older version of this script)
  # lacks their dependencies in go.sum: written again.
  if [ ! -f "$wrapper/go.sum" ] || [ "$(cat "$wrapper/tools.go" 2>/dev/null)" != "$tools_go" ]; then
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
      printf '%s\n' "$tools_go" >tools.go
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
  local t0
  for cmd in "$@"; do
    log "building $cmd $KUBE_VERSION (cold: minutes; warm Go build cache: seconds)"
    t0=$SECONDS
    # Static like every other binary here: the kubelet builds without cgo too.
    (cd "$wrapper" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w$ldflags" -o "$bindir/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd")
    mv "$bindir/$cmd.tmp" "$bindir/$cmd"
    log "built $cmd in $((SECONDS - t0))s"
  done
}

# kube_version_ok CMD: the cached CMD reports KUBE_VERSION.
kube_version_ok() {
  case $1 in
    kubectl) has_version "$bindir/kubectl" version --client ;;
    *) has_version "$bindir/$1" --version ;;
  esac
}

VERSION_WANT=$KUBE_VERSION
stale=()
for cmd in "${wanted[@]}"; do
  kube_version_ok "$cmd" || stale+=("$cmd")
done
[ ${#stale[@]} -eq 0 ] || build_kube "${stale[@]}"

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
for cmd in "${wanted[@]}"; do kube_version_ok "$cmd"; done
VERSION_WANT=$HELM_VERSION
has_version "$bindir/helm" version --short
echo "$bindir"
