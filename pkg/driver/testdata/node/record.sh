#!/bin/bash
# Records what the filesystem tools that k8s.io/mount-utils'
# SafeFormatAndMount runs during NodeStageVolume (blkid, mkfs.ext4, mkfs.xfs,
# fsck) print and exit with, so node_test.go replays real output. Run on a
# Debian host with util-linux, e2fsprogs and xfsprogs installed (no root
# needed, it works on sparse image files):
#   pkg/driver/testdata/node/record.sh
# Each case NAME leaves NAME.argv (one argument per line), NAME.out (stdout
# and stderr together: mount-utils reads CombinedOutput) and NAME.exit in
# testdata/node/recorded/. The image's path is written as @DEV@ in all of
# them; the tests put their device path there.
set -u
cd "$(dirname "$0")"
out=recorded
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rec() {
	local name=$1 dev=$2
	shift 2
	printf '%s\n' "$@" | sed "s|$dev|@DEV@|g" >"$out/$name.argv"
	"$@" 2>&1 | sed "s|$dev|@DEV@|g" >"$out/$name.out"
	echo "${PIPESTATUS[0]}" >"$out/$name.exit"
	echo "$name: exit $(cat "$out/$name.exit")"
}

# The argv are the ones mount-utils v0.37 builds (mount_linux.go:
# getDiskFormat, formatAndMountSensitive, checkAndRepairFilesystem).
ext4=$work/ext4.img
truncate -s 64M "$ext4"
rec blkid_unformatted "$ext4" blkid -p -s TYPE -s PTTYPE -o export "$ext4"
rec mkfs_ext4 "$ext4" mkfs.ext4 -F -m0 "$ext4"
rec blkid_ext4 "$ext4" blkid -p -s TYPE -s PTTYPE -o export "$ext4"
rec fsck_clean "$ext4" fsck -a "$ext4"
# mkfs failing: the device went away between blkid and mkfs.
rec mkfs_ext4_missing "$work/gone" mkfs.ext4 -F -m0 "$work/gone"

# mkfs.xfs wants at least 300 MiB.
xfs=$work/xfs.img
truncate -s 320M "$xfs"
rec mkfs_xfs "$xfs" mkfs.xfs -f "$xfs"

# Format options from StorageClass parameters (blockSize) go first: mount-utils
# puts FormatAndMountSensitiveWithFormatOptions' options before its own.
# Separate images, so the cases above and below stay as they were.
ext4b=$work/ext4-b4096.img
truncate -s 64M "$ext4b"
rec mkfs_ext4_b4096 "$ext4b" mkfs.ext4 -b 4096 -F -m0 "$ext4b"
xfsb=$work/xfs-b1024.img
truncate -s 320M "$xfsb"
rec mkfs_xfs_b1024 "$xfsb" mkfs.xfs -b size=1024 -f "$xfsb"

# A disk with two filesystem signatures (the ext4 superblock copied over
# the XFS image): blkid exits 8, "ambivalent result", which mount-utils
# must not take for an unformatted disk (exit 2).
amb=$work/ambivalent.img
cp "$xfs" "$amb"
dd if="$ext4" of="$amb" bs=1024 skip=1 seek=1 count=1 conv=notrunc status=none
rec blkid_ambivalent "$amb" blkid -p -s TYPE -s PTTYPE -o export "$amb"
