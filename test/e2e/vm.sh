#!/usr/bin/env bash
# Runs one command as root inside a throw-away qemu guest that has Debian's full
# kernel (device-mapper, dm-thin, SCSI, iscsi_tcp, loop, ext4, xfs) and this
# machine's own userland, shared read-only over 9p under a tmpfs overlay.
#
#   test/e2e/vm.sh OUTDIR COMMAND [ARG...]
#
# Why a VM: the kernels of the project's machines have no device-mapper and no
# SCSI, so LVM activation and iSCSI login cannot happen on them. /dev/kvm hangs a
# stock kernel there (nested), so the guest runs under TCG (software emulation).
#
# Inside the guest every host path is at the same place (the repo, bin/, Go's
# caches); OUTDIR is shared read-write at its own path, so COMMAND writes its
# results there and they survive power-off. Everything else is lost.
# COMMAND's exit code is written to OUTDIR/vm-rc and becomes this script's;
# 124 means the guest hit the timeout, 125 that it stopped without an exit code.
# The serial console (kernel messages and COMMAND's output) is kept in
# OUTDIR/console.log.
#
# Settings (environment):
#   E2E_VM_MEMORY   guest memory in MiB (default 4096)
#   E2E_VM_CPUS     guest CPUs (default 2)
#   E2E_VM_TIMEOUT  seconds before a hung guest is killed (default 3600)
#   E2E_VM_CACHE    kernel and initramfs cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/lvm-iscsi-csi/vm)
#   E2E_*           every other E2E_ variable is passed on to COMMAND
set -euo pipefail

usage() { echo "usage: $0 OUTDIR COMMAND [ARG...]" >&2; exit 2; }
[ $# -ge 2 ] || usage
out=$(mkdir -p "$1" && cd "$1" && pwd)
shift
# The path travels on the kernel command line, which splits at blanks.
case $out in *[[:space:]]*) echo "$0: OUTDIR must not contain blanks: $out" >&2; exit 2 ;; esac

memory=${E2E_VM_MEMORY:-4096}
cpus=${E2E_VM_CPUS:-2}
timeout_s=${E2E_VM_TIMEOUT:-3600}
cache=${E2E_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lvm-iscsi-csi/vm}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { printf '[vm %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# The guest shares this machine's userland, so every tool the tests use in the
# guest must be installed here.
"$here/../../hack/install-e2e-deps.sh"

mkdir -p "$cache"
# Runs on one machine share the cache: one at a time fills it.
exec 9> "$cache/.lock"
flock 9

# 1. Debian's own kernel package, unpacked into the cache (never installed).
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$kpkg" ]; then
  apt-get update -qq
  kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
[ -n "$kpkg" ] || { log "cannot find Debian's kernel package (apt-cache depends linux-image-amd64)"; exit 1; }
kdir=$cache/$kpkg
if [ ! -f "$kdir/.complete" ]; then
  log "fetching kernel package $kpkg into $cache"
  rm -rf "$kdir" "$cache/download"
  mkdir -p "$kdir/root" "$cache/download"
  # APT::Sandbox::User=root: the cache may be where apt's _apt user cannot write.
  (cd "$cache/download" && apt-get download -q -o APT::Sandbox::User=root "$kpkg")
  dpkg-deb -x "$cache/download/${kpkg}"_*.deb "$kdir/root"
  rm -rf "$cache/download"
  depmod -b "$kdir/root" "$(ls "$kdir/root/lib/modules")"
  touch "$kdir/.complete"
fi
kver=$(ls "$kdir/root/lib/modules")
kmods=$kdir/root/lib/modules/$kver

# 2. A small initramfs: busybox and the modules needed to mount this machine's
# root over 9p with a writable overlay, then switch to it. It is rebuilt only
# when its init script changes.
initrd_modules=(
  drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
  drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci fs/netfs/netfs
  fs/fscache/fscache net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p fs/overlayfs/overlay
)
# Kernel parameters of the form name=value without a dot reach /init as
# environment variables: e2e_out and e2e_modules come from the -append below.
# shellcheck disable=SC2016 # expanded by the guest's /init, not here
initrd_init='#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p overlay; do
  insmod /mods/$m.ko || echo "initrd: insmod $m failed"
done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /hostroot
mount -t tmpfs tmpfs /upper; mkdir -p /upper/u /upper/w
mount -t overlay overlay -o lowerdir=/hostroot,upperdir=/upper/u,workdir=/upper/w /newroot
mkdir -p /newroot/lib/modules "/newroot$e2e_out"
mount --bind "/newroot$e2e_modules" /newroot/lib/modules
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out "/newroot$e2e_out"
exec switch_root /newroot /bin/bash "$e2e_out/.vm/guest-init"
'
initrd_id=$( { echo "$kver"; printf '%s\n' "${initrd_modules[@]}"; echo "$initrd_init"; } | sha256sum | cut -c1-12)
initrd=$cache/initrd-$initrd_id.gz
if [ ! -f "$initrd" ]; then
  log "building initramfs $initrd"
  stage=$(mktemp -d "$cache/initrd.XXXXXX")
  mkdir -p "$stage"/{bin,mods,dev,proc,sys,hostroot,upper,newroot}
  cp /bin/busybox "$stage/bin/"
  for m in "${initrd_modules[@]}"; do cp "$kmods/kernel/$m.ko" "$stage/mods/"; done
  printf '%s' "$initrd_init" > "$stage/init"
  chmod +x "$stage/init"
  (cd "$stage" && find . | cpio -o -H newc --quiet | gzip) > "$initrd.tmp"
  mv "$initrd.tmp" "$initrd"
  rm -rf "$stage"
fi

exec 9>&-

# 3. What runs as PID 1 after switch_root: the minimum of a booted system
# (udevd matters: without it lvcreate fails with "device not cleared" and the
# /dev/disk/by-path links are missing), then COMMAND, then power-off.
mkdir -p "$out/.vm"
rm -f "$out/vm-rc"
{
  echo "cd $(printf '%q' "$PWD")"
  echo "export PATH=$(printf '%q' "$PATH") HOME=$(printf '%q' "$HOME") LC_ALL=C"
  # The harness's settings travel with the command.
  for name in $(compgen -e); do
    case $name in E2E_*) echo "export $name=$(printf '%q' "${!name}")" ;; esac
  done
  printf 'exec'; printf ' %q' "$@"; echo
} > "$out/.vm/command"
cat > "$out/.vm/guest-init" <<'GUEST'
out=$(dirname "$(dirname "$(readlink -f "$0")")")
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
ln -sf /proc/self/fd /dev/fd; ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout; ln -sf /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /dev/shm
for m in dm-mod dm-thin-pool dm-snapshot iscsi_tcp sd_mod sg ext4 xfs loop; do
  modprobe "$m" || echo "guest-init: modprobe $m failed"
done
ip link set lo up
/lib/systemd/systemd-udevd --daemon
udevadm trigger --action=add; udevadm settle
echo "guest-init: booted kernel $(uname -r), running the command"
bash "$out/.vm/command" < /dev/null
echo $? > "$out/vm-rc"
sync
# busybox's poweroff -f calls reboot(2) at once. The sysrq fallback returns
# before the machine is off, and init must not exit (a panic) in between.
/bin/busybox poweroff -f
echo o > /proc/sysrq-trigger
while :; do sleep 1; done
GUEST

# no_timer_check: on a loaded host the emulated CPU is too slow for the
# kernel's IO-APIC timer check, which then panics at boot ("IO-APIC + timer
# doesn't work!"); the check only matters on real hardware.
log "booting kernel $kver (TCG, ${cpus} CPUs, ${memory} MiB, timeout ${timeout_s}s); console: $out/console.log"
start=$SECONDS
set +e
timeout --kill-after=30 "$timeout_s" qemu-system-x86_64 \
  -accel tcg,thread=multi -cpu max -smp "$cpus" -m "$memory" \
  -nographic -no-reboot -nic none -kernel "$kdir/root/boot/vmlinuz-$kver" -initrd "$initrd" \
  -append "console=ttyS0 panic=-1 loglevel=3 no_timer_check e2e_out=$out e2e_modules=$kdir/root/lib/modules" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap \
  -virtfs "local,path=$out,mount_tag=out,security_model=passthrough,multidevs=remap" \
  < /dev/null 2>&1 | tee "$out/console.log" | sed -u 's/^/  | /' >&2
qemu_rc=${PIPESTATUS[0]}
set -e
log "guest stopped after $((SECONDS - start))s (qemu exit $qemu_rc)"

if [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
  log "guest timed out after ${timeout_s}s (E2E_VM_TIMEOUT); see $out/console.log"
  exit 124
fi
if [ ! -s "$out/vm-rc" ]; then
  log "guest stopped without writing its exit code; see $out/console.log"
  exit 125
fi
exit "$(cat "$out/vm-rc")"
