#!/usr/bin/env bash
# Puts the VolumeSnapshot CRDs of external-snapshotter SNAPSHOTTER_VERSION into
# the cache and prints the directory. They ship inside the Go module
# github.com/kubernetes-csi/external-snapshotter/client/v8 (config/crd/), so
# the Go module proxy serves them with a checksum from the sum database; the
# repository does not carry third-party YAML.
set -euo pipefail

version=${SNAPSHOTTER_VERSION:-v8.7.0}
module=github.com/kubernetes-csi/external-snapshotter/client/v8
cache=${XDG_CACHE_HOME:-$HOME/.cache}/lvm-iscsi-csi
dir=$cache/snapshot-crds-$version

if ! ls "$dir"/snapshot.storage.k8s.io_volumesnapshot*.yaml >/dev/null 2>&1; then
  # Outside any module, so the project's go.mod and go.sum stay untouched.
  src=$(cd / && GOFLAGS=-mod=mod go mod download -json "$module@$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$src/config/crd" ] || { echo "fetch-snapshot-crds: no config/crd in $module@$version" >&2; exit 1; }
  mkdir -p "$dir.tmp"
  cp "$src"/config/crd/*snapshot*.yaml "$dir.tmp/"
  chmod u+w "$dir.tmp"/*
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
echo "$dir"
