#!/usr/bin/env bash
# Builds the project's Dockerfile with buildah, offline from any registry, and
# prints the image name. Usage: hack/build-image.sh [IMAGE] (default
# localhost/lvm-iscsi-csi:<the chart's appVersion>, the image the Helm chart
# runs when no image value is set). With IMAGE_ARCHIVE=FILE it also writes the
# image as a docker-archive tarball that keeps its name, for
# `ctr -n k8s.io images import FILE` on a node without a registry (`make image`).
# The driver binary inside is stamped with VERSION (default: git describe).
#
# No Docker engine and no registry here, so the two images the Dockerfile
# starts FROM are made locally and tagged with the names it uses:
#   debian:bookworm-slim   a `debootstrap --variant=minbase bookworm` root file system
#   golang:1.26-bookworm   the same plus this machine's Go toolchain
# The build stage gets this machine's Go module and build caches as volumes,
# so a warm build compiles nothing twice. buildah's storage (vfs: works on any
# file system, no overlay or fuse needed) and the root file system live in
# the cache directory and are reused while the Go version is the same.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
app_version=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' charts/lvm-iscsi-csi/Chart.yaml)
[ -n "$app_version" ] || { echo "build-image: no appVersion in charts/lvm-iscsi-csi/Chart.yaml" >&2; exit 1; }
image=${1:-localhost/lvm-iscsi-csi:$app_version}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/lvm-iscsi-csi/image
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
base_image=docker.io/library/debian:bookworm-slim
go_image=docker.io/library/golang:1.26-bookworm
goroot=$(go env GOROOT)
go_version=$(go env GOVERSION)

log() { echo "build-image: $*" >&2; }
bh() { buildah --root "$cache/storage" --runroot "$cache/run" --storage-driver vfs "$@"; }

[ "$(id -u)" = 0 ] || { log "buildah builds with chroot isolation as root only"; exit 1; }
mkdir -p "$cache"

# The Dockerfile must start from exactly these names, or the build would try a registry.
grep -q "$go_image" Dockerfile && grep -q "$base_image" Dockerfile ||
  { log "Dockerfile no longer starts FROM $go_image and $base_image; update $0"; exit 1; }

rootfs_tar=$cache/bookworm-minbase.tar
if [ ! -s "$rootfs_tar" ]; then
  log "debootstrap bookworm minbase from $mirror"
  tmp=$(mktemp -d "$cache/rootfs.XXXXXX")
  debootstrap --variant=minbase bookworm "$tmp/root" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log" >&2; rm -rf "$tmp"; exit 1; }
  # The slim image's trims that matter here: no apt caches, no package lists.
  rm -rf "$tmp/root/var/cache/apt/"*.bin "$tmp/root/var/lib/apt/lists/"*
  tar -C "$tmp/root" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf "$tmp"
  bh rmi -f "$base_image" "$go_image" >/dev/null 2>&1 || true
fi

if ! bh inspect --type image "$base_image" >/dev/null 2>&1; then
  log "making $base_image from the debootstrap root file system"
  ctr=$(bh from scratch)
  bh add "$ctr" "$rootfs_tar" / >/dev/null
  bh config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd bash "$ctr"
  bh commit --rm -q "$ctr" "$base_image" >/dev/null
fi

# The Go image is labelled with the toolchain it carries: a new Go on the host makes a new image.
have_go=$(bh inspect --type image --format '{{index .ImageAnnotations "lvm-iscsi-csi.go-version"}}' "$go_image" 2>/dev/null || true)
if [ "$have_go" != "$go_version" ]; then
  log "making $go_image with $go_version from $goroot"
  bh rmi -f "$go_image" >/dev/null 2>&1 || true
  ctr=$(bh from --pull=never "$base_image")
  bh copy "$ctr" "$goroot" /usr/local/go >/dev/null
  # `go mod download` inside the build checks TLS; the host's CA bundle serves.
  bh copy "$ctr" /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt >/dev/null
  bh config --env GOPATH=/go --env GOTOOLCHAIN=local \
    --env PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --annotation "lvm-iscsi-csi.go-version=$go_version" "$ctr"
  bh commit --rm -q "$ctr" "$go_image" >/dev/null
fi

log "building $image (VERSION=$version)"
bh bud --isolation chroot --pull=never --layers=false -q \
  --build-arg "VERSION=$version" \
  -v "$(go env GOMODCACHE):/go/pkg/mod" -v "$(go env GOCACHE):/root/.cache/go-build" \
  -t "$image" . >&2
# Drop the previous build of the same tag and dangling stages: vfs keeps full copies.
bh rmi --prune >/dev/null 2>&1 || true
if [ -n "${IMAGE_ARCHIVE:-}" ]; then
  log "writing $IMAGE_ARCHIVE (docker-archive, named $image)"
  mkdir -p "$(dirname "$IMAGE_ARCHIVE")"
  rm -f "$IMAGE_ARCHIVE"
  bh push -q "$image" "docker-archive:$IMAGE_ARCHIVE:$image" >&2
fi
echo "$image"
