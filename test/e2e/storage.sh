# shellcheck shell=bash
# The storage host and the initiator of a real-kernel test run, as functions:
# the loop-file volume group, tgtd and iscsid steps, in one copy sourced by
# test/e2e/guest.sh (the driver as processes, with its restart helpers) and
# test/k8s/guest-cluster.sh (the driver installed by its chart).
#
# The caller defines log (one line to the console) and die (log and exit 1).
# State the functions leave for the caller's cleanup (globals):
#   loopdev                  the loop device under the volume group
#   started_iscsid           pid of the iscsid started here (empty: the host's)
#   initiator_file_created   the initiator name file written for this run natively

loopdev=
started_iscsid=
initiator_file_created=

# stop_pid PID NAME: SIGTERM, then SIGKILL after 15 s.
stop_pid() {
  local pid=$1 name=$2 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  log "$name ($pid) ignored SIGTERM for 15s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# storage_lvm_filter_iscsi: docs/install.md, storage host step 5. The storage
# host is a node too, so the host's own lvm keeps off iSCSI disks like the
# driver's lvm does: without it, the first lvm command after a new disk
# appears scans it, and blocks for the session's replacement timeout when its
# target is down at that moment (doctor's lvm-filter-host). Only for a
# throw-away guest: it edits /etc/lvm/lvm.conf.
storage_lvm_filter_iscsi() {
  sed -i '0,/^devices {$/s//devices {\n\tglobal_filter = [ "r|^\/dev\/disk\/by-path\/.*-iscsi-.*|" ]/' /etc/lvm/lvm.conf
  [ "$(lvmconfig devices/global_filter 2>/dev/null)" = 'global_filter="r|^/dev/disk/by-path/.*-iscsi-.*|"' ] ||
    die "could not set devices/global_filter in /etc/lvm/lvm.conf: $(lvmconfig devices/global_filter 2>&1)"
}

# storage_create_vg WORK VG POOL VG_SIZE POOL_SIZE: the volume group on a
# sparse file in WORK (the nova-volume trick for experiments: dd a sparse
# file, losetup, vgcreate) with a thin pool; sets loopdev. E2E_PV_METADATA_SIZE
# sets the PV's metadata area: lvm's default (about 1 MiB, half of it
# usable as lvm keeps room for the next copy) holds about a thousand
# volumes with their tags (479 bytes each in the bench's full run): too
# tight for the bench's thousand beside the CHAP key LV and the others
# (docs/install.md).
storage_create_vg() {
  local work=$1 vg=$2 pool=$3 vg_size=$4 pool_size=$5
  log "volume group $vg ($vg_size on a loop file, thin pool $pool of $pool_size)"
  dd if=/dev/zero of="$work/vg.img" bs=1M seek="$(numfmt --from=iec "$vg_size" | awk '{print int($1 / 1048576)}')" count=0 status=none
  loopdev=$(losetup -f --show "$work/vg.img")
  local mda=()
  [ -n "${E2E_PV_METADATA_SIZE:-}" ] && mda=(--metadatasize "$E2E_PV_METADATA_SIZE")
  pvcreate -q "${mda[@]}" "$loopdev" >/dev/null
  vgcreate -q "$vg" "$loopdev" >/dev/null
  # Zeroing makes a newly provisioned thin block read back as zeros, so a new
  # volume never shows a deleted volume's data.
  # E2E_THIN_POOL_METADATA_SIZE: every thin volume takes at least a block
  # of the pool's metadata, and lvm's default for a 3G pool (about 3 MiB)
  # ran out at about 650 volumes in the bench's full run.
  local pmd=()
  [ -n "${E2E_THIN_POOL_METADATA_SIZE:-}" ] && pmd=(--poolmetadatasize "$E2E_THIN_POOL_METADATA_SIZE")
  lvcreate -q -T -L "$pool_size" "${pmd[@]}" --zero y "$vg/$pool" >/dev/null
}

# storage_remove_vg VG: the volume group and the loop device under it.
storage_remove_vg() {
  local vg=$1
  if vgs "$vg" >/dev/null 2>&1; then
    vgremove -f -y "$vg" >/dev/null 2>&1 || log "vgremove $vg failed"
  fi
  if [ -n "$loopdev" ]; then
    pvremove -y "$loopdev" >/dev/null 2>&1
    losetup -d "$loopdev" || log "losetup -d $loopdev failed"
  fi
}

# storage_start_tgtd CONTROL_PORT PORTAL LOGFILE PIDFILE: tgtd listening on
# PORTAL only, answering tgtadm within 10 s.
storage_start_tgtd() {
  local control_port=$1 portal=$2 logfile=$3 pidfile=$4 i
  if tgtadm -C "$control_port" --op show --mode sys >/dev/null 2>&1; then
    die "a tgtd already answers on control port $control_port; set E2E_TGT_CONTROL_PORT to another port"
  fi
  log "tgtd on $portal (control port $control_port)"
  setsid tgtd -f -C "$control_port" --iscsi "portal=$portal" > "$logfile" 2>&1 &
  echo $! > "$pidfile"
  for ((i = 0; i < 100; i++)); do
    tgtadm -C "$control_port" --op show --mode sys >/dev/null 2>&1 && break
    kill -0 "$(cat "$pidfile")" 2>/dev/null || die "tgtd exited; see $logfile"
    sleep 0.1
  done
  tgtadm -C "$control_port" --op show --mode sys >/dev/null 2>&1 || die "tgtd did not answer in 10s"
}

# storage_stop_tgtd CONTROL_PORT PIDFILE: the documented way to stop tgtd:
# offline, then delete the system.
storage_stop_tgtd() {
  local control_port=$1 pidfile=$2
  [ -f "$pidfile" ] || return 0
  tgtadm -C "$control_port" --op update --mode sys --name State -v offline >/dev/null 2>&1
  tgtadm -C "$control_port" --op delete --mode system >/dev/null 2>&1
  stop_pid "$(cat "$pidfile")" tgtd
}

# storage_initiator_name FILE WORK: makes sure FILE names an initiator. In the
# guest (E2E_MODE=vm) /etc is a throw-away overlay: every run gets a fresh
# name, as a new node would. Natively the host's name is kept when it has one;
# otherwise one is written for this run and the original is saved in WORK,
# for storage_restore_initiator_name.
storage_initiator_name() {
  local file=$1 work=$2
  if [ "${E2E_MODE:-}" = vm ] || ! grep -q '^InitiatorName=' "$file" 2>/dev/null; then
    mkdir -p "$(dirname "$file")"
    if [ "${E2E_MODE:-}" != vm ]; then
      if [ -e "$file" ]; then cp -p "$file" "$work/initiatorname.orig"; fi
      initiator_file_created=$file
    fi
    echo "InitiatorName=$(iscsi-iname -p iqn.2026-11.io.csi.lvm-iscsi.e2e)" > "$file"
  fi
  log "initiator $(sed -n 's/^InitiatorName=//p' "$file")"
}

# storage_restore_initiator_name WORK: undoes storage_initiator_name.
storage_restore_initiator_name() {
  local work=$1
  [ -n "$initiator_file_created" ] || return 0
  if [ -e "$work/initiatorname.orig" ]; then
    cp -p "$work/initiatorname.orig" "$initiator_file_created"
  else
    rm -f "$initiator_file_created"
  fi
}

# storage_start_iscsid INITIATOR_FILE LOGFILE: iscsid, unless one runs
# already (natively iscsiadm can talk to only one iscsid per host: the
# host's); sets started_iscsid.
storage_start_iscsid() {
  local file=$1 logfile=$2 i rc
  if pgrep -x iscsid >/dev/null; then
    log "using the iscsid that is already running"
    return 0
  fi
  # Its own session: on shutdown iscsid signals its whole process group, which
  # would otherwise include the caller.
  setsid iscsid -f -n -i "$file" > "$logfile" 2>&1 &
  started_iscsid=$!
  for ((i = 0; i < 100; i++)); do
    # Exit 0 (sessions listed) or 21 (no active sessions): iscsid answered.
    rc=0; iscsiadm -m session >/dev/null 2>&1 || rc=$?
    [ "$rc" = 0 ] || [ "$rc" = 21 ] && break
    kill -0 "$started_iscsid" 2>/dev/null || die "iscsid exited; see $logfile"
    sleep 0.1
  done
}

# storage_forget_portal PORTAL: logs out of and deletes the node records of
# PORTAL only: other targets are untouched.
storage_forget_portal() {
  local portal=$1
  command -v iscsiadm >/dev/null || return 0
  iscsiadm -m node -p "$portal" --logout >/dev/null 2>&1
  iscsiadm -m node -p "$portal" -o delete >/dev/null 2>&1
  return 0
}
