#!/usr/bin/env bash
# Builds e2e.test, the upstream Kubernetes end-to-end suite, from
# k8s.io/kubernetes/test/e2e at KUBE_VERSION (the cluster's) through the Go
# module proxy into the cache, and agnhost (test/images/agnhost, the test
# image some storage tests run: test/k8s/images.sh makes its image), and
# prints the directory holding both:
#
#   hack/build-kube-e2e.sh      -> ~/.cache/lvm-iscsi-csi/kube-e2e-v1.37.2/{e2e.test,agnhost}
#
# make k8s-e2e runs e2e.test with test/k8s/testdriver.yaml (the
# "External.Storage" tests of a CSI driver). It is built like the cluster's binaries
# (hack/lib/kube-wrapper.sh), in a wrapper module of its own: its tools.go
# names the test packages, whose dependencies the commands' go.sum lacks, and
# keeping them apart leaves the commands' wrapper untouched. A binary that
# reports KUBE_VERSION is reused. Built with `nice -n 19`: the machine's two
# cores are shared with running guests.
set -euo pipefail
# shellcheck source=hack/lib/kube-wrapper.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/kube-wrapper.sh"

[ $# -eq 0 ] || { echo "usage: $0" >&2; exit 2; }
KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/lvm-iscsi-csi
outdir=$cache/kube-e2e-$KUBE_VERSION
bin=$outdir/e2e.test
mkdir -p "$outdir"
exec 8>"$cache/.build-kube-e2e.lock"
flock 8

log() { echo "build-kube-e2e: $*" >&2; }

# e2e.test --version prints version.Get() (its GitVersion), stamped by kube_ldflags.
version_ok() { [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -qx -- "$KUBE_VERSION"; }
# agnhost's version is the image tag test/utils/image/manifest.go names
# (test/images/agnhost/VERSION), kept beside the binary.
agnhost_ok() { [ -x "$outdir/agnhost" ] && [ -s "$outdir/agnhost.version" ]; }

if ! version_ok || ! agnhost_ok; then
  wrapper=$cache/kube-e2e-wrapper-$KUBE_VERSION
  # The source of k8s.io/kubernetes in the module cache (downloaded if needed).
  e2e_dir=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -f "$e2e_dir/test/e2e/e2e_test.go" ] || { log "no test/e2e/e2e_test.go in $e2e_dir"; exit 1; }
  # go mod tidy keeps the dependencies of a dependency's tests only when
  # something imports them: the packages e2e_test.go imports (every test
  # suite) go into tools.go beside test/e2e itself.
  mapfile -t pkgs < <(
    echo k8s.io/kubernetes/test/e2e
    echo k8s.io/kubernetes/test/images/agnhost
    sed -n '/^import (/,/^)/p' "$e2e_dir/test/e2e/e2e_test.go" | grep -oE '"[a-z0-9.-]+\.[a-z]+/[^"]+"' | tr -d '"' | sort -u
  )
  kube_wrapper "$wrapper" "$KUBE_VERSION" "pins the Kubernetes e2e test packages this wrapper module builds." "${pkgs[@]}"
  if ! version_ok; then
    log "building e2e.test $KUBE_VERSION (cold: tens of minutes on 2 shared cores; warm Go build cache: a minute)"
    t0=$SECONDS
    (cd "$wrapper" && CGO_ENABLED=0 nice -n 19 go test -c -trimpath -ldflags "-s -w$(kube_ldflags "$KUBE_VERSION")" \
      -o "$bin.tmp" k8s.io/kubernetes/test/e2e)
    mv "$bin.tmp" "$bin"
    log "built e2e.test in $((SECONDS - t0))s"
  fi
  if ! agnhost_ok; then
    t0=$SECONDS
    (cd "$wrapper" && CGO_ENABLED=0 nice -n 19 go build -trimpath -ldflags "-s -w" -o "$outdir/agnhost.tmp" k8s.io/kubernetes/test/images/agnhost)
    mv "$outdir/agnhost.tmp" "$outdir/agnhost"
    cat "$e2e_dir/test/images/agnhost/VERSION" >"$outdir/agnhost.version"
    log "built agnhost $(cat "$outdir/agnhost.version") in $((SECONDS - t0))s"
  fi
fi
# The references the suite's storage tests give their pods' images
# (test/utils/image/manifest.go): busybox (most pods), agnhost (subPath and
# pause containers), nginx (the exec test, which runs only /bin/sh in it).
# test/k8s/images.sh makes images under these names; no registry is reachable.
if [ ! -s "$outdir/images.env" ]; then
  e2e_dir=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  manifest=$e2e_dir/test/utils/image/manifest.go
  registry=$(sed -n 's/^[[:space:]]*PromoterE2eRegistry: *"\([^"]*\)",$/\1/p' "$manifest")
  {
    for id in BusyBox Agnhost Nginx; do
      ref=$(sed -n "s|^[[:space:]]*configs\[$id\] = Config{list.PromoterE2eRegistry, \"\([^\"]*\)\", \"\([^\"]*\)\"}|\1:\2|p" "$manifest")
      [ -n "$registry" ] && [ -n "$ref" ] || { log "cannot find the $id image in $manifest"; exit 1; }
      echo "E2E_IMAGE_$(tr a-z A-Z <<<"$id")=$registry/$ref"
    done
  } >"$outdir/images.env.tmp"
  mv "$outdir/images.env.tmp" "$outdir/images.env"
fi
version_ok || { log "$bin does not report $KUBE_VERSION"; exit 1; }
agnhost_ok || { log "$outdir/agnhost missing"; exit 1; }
echo "$outdir"
