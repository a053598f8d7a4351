#!/usr/bin/env bash
# `make e2e`: the real-kernel end-to-end tests.
#
# Builds the driver and the test binaries on this host, runs test/e2e/guest.sh
# natively when this host's kernel can (root, device-mapper, iscsi_tcp) or else
# inside a qemu guest with Debian's full kernel (test/e2e/vm.sh), then prints
# one summary line computed from the JUnit files:
#
#   e2e: N passed, N failed, N skipped
#
# and exits non-zero on any failure, when the run did not finish, or when no
# test ran. Results stay in _output/e2e/ for diagnosis: console.log (guest),
# driver-*.log, tgtd.log, sanity-{mount,block}.log, e2e.log, junit/*.xml.
#
# Settings (environment):
#   E2E_MODE=vm|native   force where the tests run (default: auto-detect)
#   E2E_OUTPUT           results directory (default _output/e2e)
#   E2E_SKIP_BUILD=1     use the binaries already in bin/
#   E2E_RUN=demo         run the demo walk-through instead of the tests (make demo)
#   E2E_RUN=bench        run the benchmarks instead of the tests (make bench;
#                        E2E_BENCH_SHORT=1: the short run, make bench-short;
#                        E2E_BENCH_SWEEP=datapath: the data-path sweep, make bench-datapath;
#                        E2E_BENCH_ONLY=control|data|scale: only that phase, not checked)
#   E2E_VM_MEMORY, E2E_VM_CPUS, E2E_VM_TIMEOUT, E2E_VM_CACHE: see test/e2e/vm.sh
#   E2E_SANITY_ARGS, E2E_BREAK, ...: see test/e2e/guest.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
out=${E2E_OUTPUT:-$repo/_output/e2e}
bin=$repo/bin
t0=$SECONDS

log() { printf '[e2e %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# --- where: natively if this kernel can do device-mapper and iSCSI ----------
native_possible() {
  [ "$(id -u)" = 0 ] || return 1
  [ -d /sys/module/dm_mod ] || modprobe dm-mod 2>/dev/null || return 1
  [ -d /sys/module/iscsi_tcp ] || modprobe iscsi_tcp 2>/dev/null || return 1
  [ -c /dev/mapper/control ] && grep -qw device-mapper /proc/misc
}
mode=${E2E_MODE:-}
case $mode in
  vm | native) ;;
  "") if native_possible; then mode=native; else mode=vm; fi ;;
  *) echo "E2E_MODE must be vm or native, not $mode" >&2; exit 2 ;;
esac
export E2E_MODE=$mode

# --- build on the host --------------------------------------------------------
if [ "${E2E_SKIP_BUILD:-}" != 1 ]; then
  log "building into $bin"
  mkdir -p "$bin"
  if [ -f Makefile ] && grep -q '^build:' Makefile; then
    make --no-print-directory build >&2
  else
    go build -o "$bin/lvm-iscsi-csi" ./cmd/lvm-iscsi-csi
  fi
  # The same driver with test-only kill points (build tag killpoints), for
  # TestKillPoints; the processes under every other test are the one above.
  go build -tags killpoints -o "$bin/lvm-iscsi-csi-killpoints" ./cmd/lvm-iscsi-csi
  go test -c -o "$bin/sanity.test" ./test/sanity
  go test -c -tags e2e -o "$bin/e2e.test" ./test/e2e
  go build -o "$bin/junitsum" ./test/e2e/junitsum
  go build -o "$bin/demo" ./test/e2e/demo
  go build -o "$bin/bench" ./test/bench
  # test2json ships as source with Go; build it rather than need `go` in the guest.
  go build -o "$bin/test2json" cmd/test2json
  log "built in $((SECONDS - t0))s"
fi

# --- run ------------------------------------------------------------------------
rm -rf "$out"
mkdir -p "$out/junit"
export E2E_OUTPUT=$out E2E_BIN=$bin
if [ "${E2E_RUN:-tests}" = bench ]; then
  # What the guest cannot see: the machine under it and the version measured.
  E2E_BENCH_HOST="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) CPUs, $(uname -r)"
  E2E_BENCH_VERSION=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
  export E2E_BENCH_HOST E2E_BENCH_VERSION
fi
log "running ${E2E_RUN:-the tests} ($mode mode); results in $out"
t1=$SECONDS
rc=0
if [ "$mode" = native ]; then
  "$here/guest.sh" 2>&1 | tee "$out/console.log" >&2 || rc=${PIPESTATUS[0]}
else
  "$here/vm.sh" "$out" "$here/guest.sh" || rc=$?
fi
log "tests ran in $((SECONDS - t1))s (exit $rc); total $((SECONDS - t0))s"

if [ "${E2E_RUN:-tests}" = demo ]; then
  [ "$rc" = 0 ] && exit 0
  log "the demo FAILED (exit $rc); logs in $out"
  exit 1
fi
if [ "${E2E_RUN:-tests}" = bench ]; then
  # The harness broke (a call or command failed, a figure is missing), not
  # a number: benchmarks never fail on how fast something was.
  short_arg=()
  [ "${E2E_BENCH_SHORT:-}" = 1 ] && short_arg=(-short)
  if [ -n "${E2E_BENCH_SWEEP:-}" ]; then
    # The sweep writes its own JSON (sweep.json, not bench.json) and fails
    # itself when a configuration could not be measured.
    [ "$rc" = 0 ] && exit 0
    log "the data-path sweep FAILED (exit $rc); see $out/bench.log and $out/console.log"
    exit 1
  fi
  if [ -n "${E2E_BENCH_ONLY:-}" ]; then
    # One phase's figures: complete by construction, nothing to check.
    [ "$rc" = 0 ] && exit 0
  elif [ "$rc" = 0 ] && "$bin/bench" -check "$out/bench.json" "${short_arg[@]}"; then
    exit 0
  fi
  log "the benchmark harness FAILED (exit $rc); see $out/bench.log and $out/console.log"
  exit 1
fi

# --- results ----------------------------------------------------------------------
shopt -s nullglob
junit=("$out"/junit/*.xml)
if [ ${#junit[@]} -eq 0 ]; then
  log "no JUnit results: the run did not get as far as the tests; see $out/console.log"
  echo "e2e: 0 passed, 0 failed, 0 skipped"
  exit 1
fi
sum_rc=0
summary=$("$bin/junitsum" "${junit[@]}") || sum_rc=$?
echo "e2e: $summary"
if [ "$rc" != 0 ]; then
  log "FAILED: the run exited $rc; see $out/console.log and the logs next to it"
  exit 1
fi
if [ "$sum_rc" != 0 ]; then
  log "FAILED: a test failed or none ran; see $out/sanity-*.log and $out/e2e.log"
  exit 1
fi
