#!/usr/bin/env bash
# The end-to-end run itself, as root, on a kernel with device-mapper and
# iscsi_tcp: inside the qemu guest (test/e2e/vm.sh) or natively on a real host.
#
#   test/e2e/guest.sh          (normally started by test/e2e/run.sh)
#
# It builds the storage host the way nova-volume's devstack did (a sparse file
# on a loop device as the volume group, plus a thin pool), starts tgtd on a
# loopback portal and iscsid, starts the freshly built driver as two processes
# (controller and node, each with its own socket, as in a cluster), runs
# csi-sanity and our own e2e tests against them, and takes everything down
# again, also when something fails on the way.
#
# Inputs (environment, set by run.sh):
#   E2E_OUTPUT   results: junit/*.xml, *.log (required)
#   E2E_MODE     vm (inside the throw-away guest) or native
#   E2E_BIN      directory with lvm-iscsi-csi, lvm-iscsi-csi-killpoints, sanity.test,
#                e2e.test, test2json, junitsum
#                (default bin/)
#   E2E_SKIP_FILE              csi-sanity skip list (default test/sanity/skip.txt)
#   E2E_SANITY_ARGS            extra arguments for sanity.test, e.g. -ginkgo.focus=Probe
#   E2E_SANITY_ACCESS          access types csi-sanity runs with (default "mount block"; "" skips it)
#   E2E_SANITY_BLOCK_FULL=1    the block pass runs every spec, not only the Node Service ones
#   E2E_GO_RUN                 -test.run regexp for our own e2e tests (default: all)
#   E2E_GO_TIMEOUT             -test.timeout of our own e2e tests (default 45m)
#   E2E_GO_COUNT               -test.count of our own e2e tests (default 1): a
#                              flaky test run many times in one guest boot
#   E2E_KILL_POINTS            sample (default) or all: the kill points TestKillPoints walks
#   E2E_VG_SIZE                size of the loop-file volume group (default 3G)
#   E2E_THIN_POOL_SIZE         size of the thin pool in it (default 1G)
#   E2E_TGT_CONTROL_PORT       tgtd management port, tgtadm -C (default 0)
#   E2E_RUN=demo               run test/e2e/demo (make demo) instead of the tests
#   E2E_RUN=bench              run test/bench (make bench) instead of the tests;
#                              E2E_BENCH_SHORT=1 makes it the short run,
#                              E2E_BENCH_SWEEP=datapath the data-path sweep,
#                              E2E_BENCH_ONLY=control|data|scale only that phase
#   E2E_PV_METADATA_SIZE       pvcreate --metadatasize of the volume group's PV
#                              (default: lvm's, about 1 MiB; make bench: 16m for
#                              its thousand volumes)
#   E2E_THIN_POOL_METADATA_SIZE lvcreate --poolmetadatasize of the thin pool
#                              (default: lvm's; make bench: 64m)
#   E2E_BREAK=no-tgtd          debugging switch: do not start tgtd, so the
#                              controller's Probe must fail (shows the harness
#                              catches a real failure)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${E2E_OUTPUT:?E2E_OUTPUT must name the results directory}
bin=${E2E_BIN:-$repo/bin}
skip_file=${E2E_SKIP_FILE:-$repo/test/sanity/skip.txt}
vg_size=${E2E_VG_SIZE:-3G}
pool_size=${E2E_THIN_POOL_SIZE:-1G}
control_port=${E2E_TGT_CONTROL_PORT:-0}
portal=127.0.0.1:3260

# Unique names, so a native run never collides with anything on the host.
id=e2e$$
vg=lvmiscsi$id
pool=pool
work=$(mktemp -d /var/tmp/lvm-iscsi-csi-$id.XXXXXX)
run=$work/run

mkdir -p "$out/junit" "$run"
log() { printf '[guest %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { log "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"
for f in lvm-iscsi-csi lvm-iscsi-csi-killpoints sanity.test e2e.test test2json junitsum demo bench; do
  [ -x "$bin/$f" ] || die "$bin/$f is missing; run test/e2e/run.sh, which builds it"
done

# The storage host's steps (volume group, tgtd, initiator name, iscsid) are
# shared with the Kubernetes run (test/k8s/guest-cluster.sh): one copy, in
# storage.sh, which also defines stop_pid and the globals loopdev,
# started_iscsid and initiator_file_created that the cleanup below reads.
# shellcheck source=test/e2e/storage.sh
. "$here/storage.sh"

# --- cleanup: everything started or created below is undone here -----------
# Daemons are started with setsid (same pid, own process group), so that
# signals they send to their group never reach this script.
# shellcheck disable=SC2317
cleanup() {
  local rc=$?
  set +e
  log "cleaning up"
  # Driver processes first, so nothing re-creates what is removed below.
  for name in node controller; do
    [ -f "$run/$name.pid" ] && stop_pid "$(cat "$run/$name.pid")" "driver $name"
  done
  # Whatever a failed test left mounted under the work directory (staging and
  # target paths), deepest first, before its disk goes away.
  findmnt -rn -o TARGET | grep -E "^$work/" | sort -r | while read -r m; do
    umount "$m" || umount -l "$m"
  done
  # Sessions and node records to our portal only: other targets are untouched.
  storage_forget_portal "$portal"
  storage_stop_tgtd "$control_port" "$run/tgtd.pid"
  # restart-iscsid may have replaced the one started here: stop the pid in
  # the file, not the one storage_start_iscsid started.
  [ -n "$started_iscsid" ] && stop_pid "$(cat "$run/iscsid.pid")" iscsid
  log "daemons stopped; removing $vg and $loopdev"
  storage_restore_initiator_name "$work"
  storage_remove_vg "$vg"
  rm -rf --one-file-system "$work"
  log "done (exit $rc)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- storage host: loop-file volume group with a thin pool ------------------
[ "${E2E_MODE:-}" = vm ] && storage_lvm_filter_iscsi
# multipath-tools is installed for the doctor's multipathd test, which
# starts multipathd itself (which needs none of its udev rules); the rules
# would start `multipath -u` on every add and change event of every iSCSI
# disk of every other test, one more process per event under emulation.
# Masked in the throw-away guest, so those tests run as on a node without
# multipath-tools, as they did before it was installed.
if [ "${E2E_MODE:-}" = vm ]; then
  mkdir -p /etc/udev/rules.d
  for rule in 56-dm-mpath.rules 60-multipath.rules 60-kpartx.rules; do
    ln -sf /dev/null "/etc/udev/rules.d/$rule"
  done
  udevadm control --reload
fi
storage_create_vg "$work" "$vg" "$pool" "$vg_size" "$pool_size"
lvs -o lv_name,lv_attr,lv_size,zero "$vg" > "$out/lvs-start.txt"

# --- tgtd on the loopback portal only ---------------------------------------
if [ "${E2E_BREAK:-}" = no-tgtd ]; then
  log "E2E_BREAK=no-tgtd: NOT starting tgtd (the controller's Probe must fail)"
else
  storage_start_tgtd "$control_port" "$portal" "$out/tgtd.log" "$run/tgtd.pid"
fi

# --- initiator: a generated name, iscsid ------------------------------------
initiator_file=/etc/iscsi/initiatorname.iscsi
storage_initiator_name "$initiator_file" "$work"
storage_start_iscsid "$initiator_file" "$out/iscsid.log"
# The restart-iscsid helper below replaces this iscsid and records its
# successor here; cleanup stops whatever pid the file names.
[ -n "$started_iscsid" ] && echo "$started_iscsid" > "$run/iscsid.pid"

# --- the driver, as two processes -------------------------------------------
start_driver() { # name args...
  local name=$1
  shift
  log "driver $name: $*"
  setsid "$bin/lvm-iscsi-csi" "$@" > "$out/driver-$name.log" 2>&1 &
  echo $! > "$run/$name.pid"
}
# --reconcile-interval: only start-up and tgtd restarts reconcile, as the
# wrong-disk test tampers with a serial and the outage tests need a deleted
# target to stay deleted until they restart tgtd (10m let a periodic pass
# fall inside an outage once a few minutes of tests came before it).
controller_args=(--mode=controller --endpoint="unix://$run/controller.sock"
  --volume-group="$vg" --thin-pool="$pool" --portal="$portal"
  --tgt-control-port="$control_port" --state-dir="$work/state/controller" --v=5
  --reconcile-interval=24h --metrics-address=127.0.0.1:29852)
start_driver controller "${controller_args[@]}"
node_args=(--mode=node --endpoint="unix://$run/node.sock" --node-id=e2e-node
  --initiator-name-file="$initiator_file" --kubelet-dir="$work" --state-dir="$work/state/node" --v=5
  --metrics-address=127.0.0.1:29853)
start_driver node "${node_args[@]}"

# Crash-and-restart switches for the e2e tests: kill -9, start again the same
# way, wait until the new process has made its socket (the killed one leaves
# its socket file behind, so that is removed first). A killed child of this script
# stays a zombie until the script reaps it, so "gone" means absent or state Z.
#
#   restart-NAME [--binary=PATH] [--expect-dead]
#
# --binary starts PATH instead of the command's first word (the kill-point
# walk runs bin/lvm-iscsi-csi-killpoints, test/e2e/killpoints_test.go).
# --expect-dead: the process should be dying on its own (it killed itself at
# a kill point); wait up to 10 s for that, and exit 3 after the restart if it
# had to be killed here. The first line of output says which it was.
write_restart() { # name pidfile logfile socket -- command...
  local name=$1 pidfile=$2 logfile=$3 socket=$4
  shift 5
  {
    echo '#!/usr/bin/env bash'
    echo 'set -u'
    printf 'pidfile=%q\n' "$pidfile"
    printf 'socket=%q\n' "$socket"
    printf 'cmd=('; printf ' %q' "$@"; echo ' )'
    cat <<'SCRIPT'
expect_dead=
for arg in "$@"; do
  case $arg in
    --binary=*) cmd[0]=${arg#--binary=} ;;
    --expect-dead) expect_dead=1 ;;
    *) echo "usage: $0 [--binary=PATH] [--expect-dead]" >&2; exit 2 ;;
  esac
done
pid=$(cat "$pidfile")
gone() { [ ! -e "/proc/$pid" ] || grep -q "^[0-9]* ([^)]*) Z" "/proc/$pid/stat" 2>/dev/null; }
rc=0
if [ -n "$expect_dead" ]; then
  for ((i = 0; i < 100; i++)); do gone && break; sleep 0.1; done
fi
if gone; then
  echo "pid $pid had exited"
else
  echo "pid $pid was running: killing it"
  [ -n "$expect_dead" ] && rc=3
fi
kill -KILL "$pid" 2>/dev/null
while ! gone; do sleep 0.1; done
# The dead process's socket file stays behind; the new one is the sign of
# life (an inode number alone may be reused at once).
rm -f "$socket"
SCRIPT
    printf 'setsid "${cmd[@]}" >> %q 2>&1 &\n' "$logfile"
    cat <<'SCRIPT'
echo $! > "$pidfile"
for ((i = 0; i < 300; i++)); do
  [ -S "$socket" ] && exit "$rc"
  sleep 0.1
done
SCRIPT
    printf 'echo "%s did not come back in 30s" >&2\n' "$name"
    echo 'exit 1'
  } > "$run/restart-$name"
  chmod +x "$run/restart-$name"
}
if [ -f "$run/tgtd.pid" ]; then
  write_restart tgtd "$run/tgtd.pid" "$out/tgtd.log" "/var/run/tgtd/socket.$control_port" -- \
    tgtd -f -C "$control_port" --iscsi "portal=$portal"
fi
write_restart node "$run/node.pid" "$out/driver-node.log" "$run/node.sock" -- \
  "$bin/lvm-iscsi-csi" "${node_args[@]}"
write_restart controller "$run/controller.pid" "$out/driver-controller.log" "$run/controller.sock" -- \
  "$bin/lvm-iscsi-csi" "${controller_args[@]}"
# iscsid killed and started again, which is what recovers a session that
# open-iscsi before 2.1.9 leaves stuck after a target restart ("can't bind
# conn", docs/troubleshooting.md): iscsid syncs the kernel's sessions at
# start and reopens them with a stop. The kernel's sessions and disks stay.
{
  echo '#!/usr/bin/env bash'
  echo 'set -u'
  if [ -n "$started_iscsid" ]; then
    printf 'pid=$(cat %q)\n' "$run/iscsid.pid"
    echo 'kill -KILL "$pid" 2>/dev/null'
    echo 'while [ -e "/proc/$pid" ] && ! grep -q "^[0-9]* ([^)]*) Z" "/proc/$pid/stat" 2>/dev/null; do sleep 0.1; done'
    printf 'setsid iscsid -f -n -i %q >> %q 2>&1 &\n' "$initiator_file" "$out/iscsid.log"
    printf 'echo $! > %q\n' "$run/iscsid.pid"
    echo 'for ((i = 0; i < 300; i++)); do'
    echo '  rc=0; iscsiadm -m session >/dev/null 2>&1 || rc=$?'
    echo '  [ "$rc" = 0 ] || [ "$rc" = 21 ] && exit 0'
    echo '  sleep 0.1'
    echo 'done'
    echo 'echo "iscsid did not answer within 30s of its restart" >&2'
    echo 'exit 1'
  else
    echo 'echo "this run uses the host iscsid, which the harness does not restart" >&2'
    echo 'exit 1'
  fi
} > "$run/restart-iscsid"
chmod +x "$run/restart-iscsid"

# The loss of the controller's --state-dir (a reinstalled storage host, a
# wiped hostPath), then a controller restart.
{
  echo '#!/usr/bin/env bash'
  echo 'set -eu'
  printf 'rm -rf --one-file-system %q\n' "$work/state/controller"
  printf 'exec %q\n' "$run/restart-controller"
} > "$run/lose-controller-state"
chmod +x "$run/lose-controller-state"

for name in controller node; do
  for ((i = 0; i < 300; i++)); do
    [ -S "$run/$name.sock" ] && break
    kill -0 "$(cat "$run/$name.pid")" 2>/dev/null || die "driver $name exited; see $out/driver-$name.log"
    sleep 0.1
  done
  [ -S "$run/$name.sock" ] || die "driver $name did not create its socket in 30s"
done

# --- the demo (make demo) instead of the tests --------------------------------
if [ "${E2E_RUN:-tests}" = demo ]; then
  mkdir -p "$work/demo"
  "$bin/demo" -controller-endpoint="unix://$run/controller.sock" -node-endpoint="unix://$run/node.sock" \
    -root="$work/demo" -volume-group="$vg" 2>&1 | tee "$out/demo.log"
  exit "${PIPESTATUS[0]}"
fi

# --- the benchmarks (make bench) instead of the tests ---------------------------
if [ "${E2E_RUN:-tests}" = bench ]; then
  mkdir -p "$work/bench"
  short_arg=()
  [ "${E2E_BENCH_SHORT:-}" = 1 ] && short_arg=(-short)
  [ -n "${E2E_BENCH_SWEEP:-}" ] && short_arg+=(-sweep="$E2E_BENCH_SWEEP" -out="$out/sweep.json")
  [ -n "${E2E_BENCH_ONLY:-}" ] && short_arg+=(-only="$E2E_BENCH_ONLY")
  "$bin/bench" -controller-endpoint="unix://$run/controller.sock" -node-endpoint="unix://$run/node.sock" \
    -root="$work/bench" -volume-group="$vg" -thin-pool="$pool" -tgt-control-port="$control_port" \
    -portal="$portal" -restart-tgtd="$run/restart-tgtd" -initiator-name-file="$initiator_file" \
    -controller-metrics=http://127.0.0.1:29852/metrics \
    -version="${E2E_BENCH_VERSION:-}" -out="$out/bench.json" "${short_arg[@]}" 2>&1 | tee "$out/bench.log"
  exit "${PIPESTATUS[0]}"
fi

# --- csi-sanity ---------------------------------------------------------------
# One ginkgo regexp per line of the skip list; '#' starts a comment.
skip_args=()
while IFS= read -r line; do
  line=${line%%#*}
  line=$(printf '%s' "$line" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
  [ -n "$line" ] && skip_args+=("-ginkgo.skip=$line")
done < "$skip_file"
log "csi-sanity, mount and block (${#skip_args[@]} skipped sections, logs: $out/sanity-*.log)"

status=0
# The whole suite once per access type: filesystem volumes, then raw block.
for access in ${E2E_SANITY_ACCESS-mount block}; do
  start=$SECONDS
  # The block pass runs the Node Service specs only: its controller specs
  # repeat the mount pass's (the controller does not care how the node
  # uses a volume) and run with block volumes in-process in `go test`
  # (test/sanity/inprocess). E2E_SANITY_BLOCK_FULL=1 runs them all.
  focus_args=()
  if [ "$access" = block ] && [ "${E2E_SANITY_BLOCK_FULL:-}" != 1 ]; then
    focus_args=("-ginkgo.focus=Node Service")
  fi
  # shellcheck disable=SC2086 # E2E_SANITY_ARGS is a list of arguments on purpose
  "$bin/sanity.test" -test.v -test.timeout=45m \
    -csi.controllerendpoint="unix://$run/controller.sock" \
    -csi.endpoint="unix://$run/node.sock" \
    -csi.stagingdir="$work/csi-staging" -csi.mountdir="$work/csi-mount" \
    -csi.idempotentcount=10 \
    -csi.testvolumeaccesstype="$access" \
    -csi.testvolumeparameters="$repo/test/sanity/volume-parameters.yaml" \
    -csi.junitfile="$out/junit/sanity-$access.xml" \
    -ginkgo.no-color "${skip_args[@]}" "${focus_args[@]}" ${E2E_SANITY_ARGS:-} \
    > "$out/sanity-$access.log" 2>&1 || status=1
  log "csi-sanity ($access) finished in $((SECONDS - start))s: $("$bin/junitsum" "$out/junit/sanity-$access.xml" 2>/dev/null || true)"
done

# --- our own end-to-end tests -------------------------------------------------
log "e2e tests (log: $out/e2e.log)"
start=$SECONDS
"$bin/e2e.test" -test.v -test.timeout="${E2E_GO_TIMEOUT:-45m}" -test.run="${E2E_GO_RUN:-.}" \
  -test.count="${E2E_GO_COUNT:-1}" -controller-endpoint="unix://$run/controller.sock" \
  -node-endpoint="unix://$run/node.sock" \
  -root="$work/e2e" -volume-group="$vg" -tgt-control-port="$control_port" \
  -restart-tgtd="$run/restart-tgtd" -restart-node="$run/restart-node" -restart-iscsid="$run/restart-iscsid" \
  -iscsid-log="$out/iscsid.log" \
  -driver-binary="$bin/lvm-iscsi-csi" \
  -lose-controller-state="$run/lose-controller-state" \
  -controller-metrics=127.0.0.1:29852 -node-metrics=127.0.0.1:29853 \
  -restart-controller="$run/restart-controller" -killpoints-binary="$bin/lvm-iscsi-csi-killpoints" \
  -controller-state-dir="$work/state/controller" -node-state-dir="$work/state/node" \
  -kill-points="${E2E_KILL_POINTS:-sample}" \
  > "$out/e2e.log" 2>&1 || status=1
# test2json reads `-test.v` output on stdin; junitsum turns its events into JUnit.
"$bin/test2json" -p e2e < "$out/e2e.log" > "$out/e2e.json"
"$bin/junitsum" -from-test2json -suite e2e < "$out/e2e.json" > "$out/junit/e2e.xml" || status=1
log "e2e tests finished in $((SECONDS - start))s: $("$bin/junitsum" "$out/junit/e2e.xml" 2>/dev/null || true)"

lvs -a -o lv_name,lv_attr,lv_size,lv_tags "$vg" > "$out/lvs-end.txt" 2>&1 || true
tgtadm -C "$control_port" --op show --mode target > "$out/tgt-end.txt" 2>&1 || true
exit "$status"
