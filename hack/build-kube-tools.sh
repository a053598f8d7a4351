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
# kube-apiserver cannot be `go install`ed: it is built in a wrapper module
# outside the repo (hack/lib/kube-wrapper.sh), so the project's go.mod never
# sees Kubernetes. Builds are reused while the binaries report the pinned
# versions; the Go build cache makes rebuilds cheap.
set -euo pipefail
# shellcheck source=hack/lib/kube-wrapper.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/kube-wrapper.sh"

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
  local wrapper=$cache/kube-wrapper-$KUBE_VERSION cmd pkgs=()
  for cmd in "${kube_cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$cmd"); done
  kube_wrapper "$wrapper" "$KUBE_VERSION" "pins the Kubernetes commands this wrapper module builds." "${pkgs[@]}"
  local ldflags
  ldflags=$(kube_ldflags "$KUBE_VERSION")
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
