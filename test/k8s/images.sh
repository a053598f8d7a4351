#!/usr/bin/env bash
# Makes every container image the k8s-e2e cluster runs, without a registry, as
# docker-archive files containerd imports (`ctr -n k8s.io images import`), and
# writes ENVFILE naming them:
#
#   test/k8s/images.sh SIDECAR_BINDIR ENVFILE [E2E_BINDIR]
#
#   driver     the project's Dockerfile, built offline by hack/build-image.sh
#   sidecars   csi-provisioner, csi-attacher, csi-resizer, csi-snapshotter and
#              snapshot-controller: their static binaries (hack/build-csi-sidecars.sh)
#              alone in an image, as the entrypoint
#   pause      test/k8s/pause, containerd's pod sandbox image
#   busybox    this machine's static busybox with its applets linked in /bin,
#              for the test pods
#   upstream   with E2E_BINDIR (hack/build-kube-e2e.sh's directory): the images
#              the upstream storage suite's pods name (its images.env): busybox
#              and nginx as the busybox above (the suite runs only shell
#              commands in them), agnhost as the agnhost binary built from
#              k8s.io/kubernetes/test/images/agnhost with that busybox beside
#              it (its Dockerfile's alpine base gives the tests a shell)
#
# Archives live in ${XDG_CACHE_HOME:-~/.cache}/lvm-iscsi-csi/k8s-images and are
# named by a hash of what went in, so an unchanged image is not made again;
# the driver image is rebuilt every time (hack/build-image.sh reuses its
# base images and the Go caches).
#
# ENVFILE (sourced by test/k8s/guest-cluster.sh) sets K8S_IMAGES (the
# archives) and K8S_IMAGE_<NAME> (the reference each one is imported as).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"

[ $# = 2 ] || [ $# = 3 ] || { echo "usage: $0 SIDECAR_BINDIR ENVFILE [E2E_BINDIR]" >&2; exit 2; }
sidecars=$1 envfile=$2 e2e_bindir=${3:-}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/lvm-iscsi-csi
archives=$cache/k8s-images
bh_root=$cache/image
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
mkdir -p "$archives"

log() { echo "images: $*" >&2; }
# The same buildah storage as hack/build-image.sh (vfs: any file system).
bh() { buildah --root "$bh_root/storage" --runroot "$bh_root/run" --storage-driver vfs "$@"; }

# One run at a time: they share buildah's storage and the archive names.
exec 8>"$archives/.lock"
flock 8

entries=()
# add VAR REF ARCHIVE: one line of ENVFILE.
add() { entries+=("$1 $2 $3"); }

# push REF ARCHIVE: buildah's image REF as a docker archive (uncompressed
# layers: the TCG guest decompresses slowly) that keeps the name REF.
push() {
  local ref=$1 archive=$2
  rm -f "$archive.tmp"
  bh push -q "$ref" "docker-archive:$archive.tmp:$ref" >/dev/null
  mv "$archive.tmp" "$archive"
}

# from_files VAR NAME TAG ENTRYPOINT DIR [REF [CMD]]: an image of DIR's
# contents and nothing else, entrypoint ENTRYPOINT (a JSON list), named REF
# (default localhost/lvm-iscsi-csi/NAME:TAG), with CMD (a JSON list) if given.
from_files() {
  local var=$1 name=$2 tag=$3 entrypoint=$4 dir=$5 ref=${6:-localhost/lvm-iscsi-csi/$2:$3} cmd=${7:-}
  local key archive ctr
  key=$( { echo "$ref $entrypoint${cmd:+ $cmd}"; (cd "$dir" && find . -printf '%p %l %m\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum); } | sha256sum | cut -c1-16)
  archive=$archives/$name-$tag-$key.tar
  if [ ! -s "$archive" ]; then
    log "making $ref"
    ctr=$(bh from scratch)
    bh copy "$ctr" "$dir" / >/dev/null
    bh config --entrypoint "$entrypoint" --os linux --arch amd64 \
      --label "io.lvm-iscsi-csi.k8s-e2e=$key" "$ctr"
    [ -z "$cmd" ] || bh config --cmd "$cmd" "$ctr"
    bh commit --rm -q "$ctr" "$ref" >/dev/null
    push "$ref" "$archive"
    bh rmi -f "$ref" >/dev/null 2>&1 || true
  fi
  add "$var" "$ref" "$archive"
}

stage=$(mktemp -d /tmp/lvm-iscsi-csi-images.XXXXXX)
trap 'rm -rf "$stage"' EXIT

# --- sidecars: one static binary each ------------------------------------------
for bin in csi-provisioner csi-attacher csi-resizer csi-snapshotter snapshot-controller; do
  [ -x "$sidecars/$bin" ] || { log "$sidecars/$bin missing: run hack/build-csi-sidecars.sh"; exit 1; }
  tag=$(sed 's/.*@//' "$sidecars/$bin.version")
  mkdir -p "$stage/$bin"
  cp "$sidecars/$bin" "$stage/$bin/$bin"
  var=K8S_IMAGE_$(echo "${bin#csi-}" | tr 'a-z-' 'A-Z_')
  from_files "$var" "$bin" "$tag" "[\"/$bin\"]" "$stage/$bin"
done

# --- pause ----------------------------------------------------------------------
mkdir -p "$stage/pause"
(cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$stage/pause/pause" ./pause)
from_files K8S_IMAGE_PAUSE pause e2e '["/pause"]' "$stage/pause"

# --- busybox for the test pods ------------------------------------------------------
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' ||
  { log "busybox-static is not installed (hack/install-e2e-deps.sh installs it)"; exit 1; }
mkdir -p "$stage/busybox/bin" "$stage/busybox/tmp"
cp /bin/busybox "$stage/busybox/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -s busybox "$stage/busybox/bin/$applet"
done
from_files K8S_IMAGE_BUSYBOX busybox e2e '["/bin/sh"]' "$stage/busybox"

# --- the upstream suite's test images ------------------------------------------------
if [ -n "$e2e_bindir" ]; then
  # shellcheck source=/dev/null
  . "$e2e_bindir/images.env"
  # Like upstream's busybox image: no entrypoint, sh as its command.
  from_files K8S_IMAGE_E2E_BUSYBOX e2e-busybox "${E2E_IMAGE_BUSYBOX##*:}" '[]' "$stage/busybox" "$E2E_IMAGE_BUSYBOX" '["/bin/sh"]'
  from_files K8S_IMAGE_E2E_NGINX e2e-nginx "${E2E_IMAGE_NGINX##*:}" '[]' "$stage/busybox" "$E2E_IMAGE_NGINX" '["/bin/sh"]'
  mkdir -p "$stage/agnhost"
  cp -a "$stage/busybox/." "$stage/agnhost/"
  cp "$e2e_bindir/agnhost" "$stage/agnhost/agnhost"
  from_files K8S_IMAGE_E2E_AGNHOST e2e-agnhost "${E2E_IMAGE_AGNHOST##*:}" '["/agnhost"]' "$stage/agnhost" "$E2E_IMAGE_AGNHOST" '["pause"]'
fi

# --- the driver, from the Dockerfile ----------------------------------------------
driver_ref=localhost/lvm-iscsi-csi:$version
log "building $driver_ref (hack/build-image.sh)"
VERSION=$version hack/build-image.sh "$driver_ref" >/dev/null
# Named by the image's id: a running guest may still be reading an older
# archive, which must not be replaced under it. The newest three are kept.
driver_id=$(bh inspect --type image --format '{{.FromImageID}}' "$driver_ref" | cut -c1-16)
driver_archive=$archives/lvm-iscsi-csi-driver-$driver_id.tar
[ -s "$driver_archive" ] || push "$driver_ref" "$driver_archive"
touch "$driver_archive"
ls -t "$archives"/lvm-iscsi-csi-driver-*.tar | tail -n +4 | xargs -r rm -f
add K8S_IMAGE_DRIVER "$driver_ref" "$driver_archive"

# --- the list -----------------------------------------------------------------------
{
  echo "# Written by test/k8s/images.sh: the images of the k8s-e2e cluster."
  printf 'K8S_IMAGES=('
  for e in "${entries[@]}"; do read -r _ _ archive <<<"$e"; printf ' %q' "$archive"; done
  echo ' )'
  for e in "${entries[@]}"; do read -r var ref _ <<<"$e"; echo "$var=$(printf '%q' "$ref")"; done
} >"$envfile"
log "$(( ${#entries[@]} )) images; list in $envfile"
