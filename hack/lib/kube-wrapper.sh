# Sourced by hack/build-kube-tools.sh and hack/build-kube-e2e.sh: the wrapper
# module through which both build k8s.io/kubernetes from the Go module proxy.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces the staging
# modules (k8s.io/api, k8s.io/client-go, ...) with ./staging paths. A wrapper
# module outside the repo requires k8s.io/kubernetes and replaces every
# staging module with its published v0.X.Y twin (the list comes from
# k8s.io/kubernetes's own go.mod), so the project's go.mod never sees
# Kubernetes. A tools.go naming the packages to build keeps their
# dependencies in go.sum; go build / go test -c then run inside the wrapper.

# kube_wrapper DIR KUBE_VERSION COMMENT PKG...: makes DIR the wrapper module
# for k8s.io/kubernetes KUBE_VERSION whose tools.go (with the package comment
# COMMENT) imports every PKG. A wrapper whose tools.go differs (written for
# other packages, so go.sum may lack their dependencies) is written again;
# an unchanged one is left alone (no download, no tidy).
kube_wrapper() {
  local wrapper=$1 version=$2 comment=$3
  shift 3
  local staging_version=v0.${version#v1.}
  local tools_go pkg
  tools_go=$(
    printf '//go:build tools\n\n// Package tools %s\npackage tools\n\nimport (\n' "$comment"
    for pkg in "$@"; do printf '\t_ "%s"\n' "$pkg"; done
    printf ')\n'
  )
  if [ -f "$wrapper/go.sum" ] && [ "$(cat "$wrapper/tools.go" 2>/dev/null)" = "$tools_go" ]; then
    return 0
  fi
  echo "kube-wrapper: writing the wrapper module for k8s.io/kubernetes $version in $wrapper" >&2
  rm -rf "$wrapper" && mkdir -p "$wrapper"
  local kmod
  kmod=$(kube_gomod "$version") || return 1
  (
    cd "$wrapper"
    go mod init lvm-iscsi-csi.local/kube-tools >/dev/null 2>&1
    go mod edit -require="k8s.io/kubernetes@$version"
    # sample-cli-plugin and sample-controller are examples the proxy does
    # not serve and nothing imports (sample-apiserver is served, and the
    # e2e tests of aggregated API servers import it).
    grep -oE '^[[:space:]]*k8s\.io/[a-z0-9-]+ => \./staging/' "$kmod" | awk '{print $1}' |
      grep -vE '^k8s.io/sample-(cli-plugin|controller)$' | while read -r m; do
        go mod edit -replace="$m=$m@$staging_version"
      done
    printf '%s\n' "$tools_go" >tools.go
    GOFLAGS=-mod=mod go mod tidy
  )
}

# kube_gomod KUBE_VERSION: prints the path of k8s.io/kubernetes's go.mod in
# the module cache, downloading the module when needed.
kube_gomod() {
  local kmod
  kmod=$(go mod download -json "k8s.io/kubernetes@$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  [ -f "$kmod" ] || { echo "kube-wrapper: cannot download k8s.io/kubernetes@$1" >&2; return 1; }
  echo "$kmod"
}

# kube_ldflags KUBE_VERSION: the -X flags that make a binary report
# KUBE_VERSION (unset, it says v0.0.0-master and the version skew checks of
# kubelet, kubectl and e2e.test complain).
kube_ldflags() {
  local version=$1 pkg ldflags=""
  local major=1 minor=${1#v1.}
  minor=${minor%%.*}
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean"
  done
  echo "$ldflags"
}
