#!/usr/bin/env bash
# Builds the Kubernetes CSI sidecars the chart runs (csi-provisioner,
# csi-attacher, csi-resizer, csi-snapshotter) plus the cluster's
# snapshot-controller from the Go module proxy into the cache, at the versions
# the chart's values.yaml names, and prints the directory that holds them
# (one static binary per sidecar, named like it).
#
#   hack/build-csi-sidecars.sh
#
# No registry is reachable here, so the images the chart names cannot be
# pulled; test/k8s/images.sh wraps these binaries into images instead.
#
# Their go.mod files carry replace directives, so `go install MOD@V` refuses
# them: the module's source (from `go mod download`) is copied out and built
# as the main module. external-snapshotter replaces its client module with
# ./client, which the published module does not contain: that replace is
# dropped and the published client module of the same version required.
# Builds are reused while the binary's version marker matches.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

values=charts/lvm-iscsi-csi/values.yaml
cache=${XDG_CACHE_HOME:-$HOME/.cache}/lvm-iscsi-csi
mkdir -p "$cache"
exec 8>"$cache/.build-csi-sidecars.lock"
flock 8

log() { echo "build-csi-sidecars: $*" >&2; }

# chart_version NAME: the tag of the sidecar image NAME in the chart's values.
chart_version() {
  local v
  v=$(sed -n "s|^[[:space:]]*image: .*/$1:\(v[0-9][0-9.]*\)[[:space:]]*$|\1|p" "$values" | head -n 1)
  [ -n "$v" ] || { log "no $1 image tag in $values"; return 1; }
  echo "$v"
}

provisioner=$(chart_version csi-provisioner)
attacher=$(chart_version csi-attacher)
resizer=$(chart_version csi-resizer)
snapshotter=$(chart_version csi-snapshotter)
bindir=$cache/csi-sidecars/provisioner-$provisioner-attacher-$attacher-resizer-$resizer-snapshotter-$snapshotter
mkdir -p "$bindir"

# build BINARY MODULE VERSION: MODULE@VERSION's ./cmd/BINARY into bindir.
build() {
  local bin=$1 mod=$2 version=$3
  if [ -x "$bindir/$bin" ] && [ "$(cat "$bindir/$bin.version" 2>/dev/null)" = "$mod@$version" ]; then
    return 0
  fi
  local t0=$SECONDS src dir
  log "building $bin from $mod@$version (cold: minutes; warm Go build cache: seconds)"
  # Outside any module, so the project's go.mod and go.sum stay untouched.
  src=$(cd / && GOFLAGS=-mod=mod go mod download -json "$mod@$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$src/cmd/$bin" ] || { log "no cmd/$bin in $mod@$version"; return 1; }
  dir=$cache/csi-sidecars/src/${mod//\//_}@$version
  if [ ! -f "$dir/.complete" ]; then
    rm -rf "$dir" && mkdir -p "$(dirname "$dir")"
    cp -r "$src" "$dir" && chmod -R u+w "$dir"
    if grep -q '=> ./client' "$dir/go.mod"; then
      local client
      client=$(sed -n 's/^[[:space:]]*\(github.com\/kubernetes-csi\/external-snapshotter\/client\/v[0-9]*\) .*/\1/p' "$dir/go.mod" | head -n 1)
      (cd "$dir" && go mod edit -dropreplace="$client" -require="$client@$version")
    fi
    touch "$dir/.complete"
  fi
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath \
    -ldflags "-s -w -X main.version=$version" -o "$bindir/$bin.tmp" "./cmd/$bin")
  mv "$bindir/$bin.tmp" "$bindir/$bin"
  echo "$mod@$version" >"$bindir/$bin.version"
  log "built $bin in $((SECONDS - t0))s"
}

major() { echo "${1%%.*}"; }
build csi-provisioner "github.com/kubernetes-csi/external-provisioner/$(major "$provisioner")" "$provisioner"
build csi-attacher "github.com/kubernetes-csi/external-attacher/$(major "$attacher")" "$attacher"
build csi-resizer "github.com/kubernetes-csi/external-resizer/$(major "$resizer")" "$resizer"
build csi-snapshotter "github.com/kubernetes-csi/external-snapshotter/$(major "$snapshotter")" "$snapshotter"
# The cluster's half of snapshots: same module and version as the sidecar.
build snapshot-controller "github.com/kubernetes-csi/external-snapshotter/$(major "$snapshotter")" "$snapshotter"
echo "$bindir"
