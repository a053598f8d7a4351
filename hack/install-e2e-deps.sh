#!/usr/bin/env bash
# Installs, with apt-get, the Debian packages the real-kernel end-to-end tests
# use: the tools the driver runs (lvm2, tgt, open-iscsi, mkfs, mount), the ones
# the harness runs around it (udev, losetup, fio, libiscsi's userspace
# initiator for the real-tgtd tests, multipathd for the doctor's multipathd
# check) and, for the qemu guest, qemu,
# busybox, cpio and kmod. Installs nothing when every tool is already there.
set -euo pipefail
. "$(dirname "$0")/lib/apt-install.sh"

packages=(
  qemu-system-x86 busybox-static cpio kmod udev lvm2 thin-provisioning-tools tgt
  open-iscsi e2fsprogs xfsprogs util-linux iproute2 fio libiscsi-bin multipath-tools
)
# One command per package proves it is installed; busybox must be the static
# build (it runs alone in the initramfs), which only dpkg can tell.
tools=(
  qemu-system-x86_64 busybox-static cpio depmod udevadm lvcreate thin_check tgtd
  iscsiadm mkfs.ext4 mkfs.xfs losetup ip fio iscsi-perf multipathd
)

missing=()
for i in "${!tools[@]}"; do
  if [ "${tools[$i]}" = busybox-static ]; then
    dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || missing+=(busybox-static)
  else
    command -v "${tools[$i]}" >/dev/null 2>&1 || missing+=("${packages[$i]}")
  fi
done
install_missing "$0" ${missing[@]+"${missing[@]}"}
