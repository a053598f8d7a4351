#!/usr/bin/env bash
# `make k8s-e2e`: a real one-node Kubernetes cluster inside the real-kernel
# qemu guest, the driver installed by its Helm chart, the Go tests of
# test/k8s (client-go) against it, then the upstream Kubernetes storage e2e
# suite (e2e.test with test/k8s/testdriver.yaml; its CI subset, or all of it
# for `make k8s-e2e-full`). Prints, last:
#
#   k8s-e2e: N passed, N failed, N skipped
#
# and exits non-zero on any failure, when the run did not finish, or when no
# test ran. Results in _output/k8s-e2e/ (or E2E_OUTPUT): console.log,
# k8s.log, junit/k8s.xml, upstream.log, upstream.json, junit/upstream.xml,
# logs/ (every daemon, every pod's containers, events, storage objects),
# manifest.yaml (what helm installed).
#
# On the host (cached in ${XDG_CACHE_HOME:-~/.cache}/lvm-iscsi-csi, keyed by
# version; from nothing the builds take about an hour on 2 cores, the run
# itself about 21 minutes, docs/testing.md "Timings"):
# Debian packages, kube-apiserver/controller-manager/scheduler/kubelet/kubectl
# and helm (hack/build-kube-tools.sh --cluster), e2e.test and agnhost
# (hack/build-kube-e2e.sh, when the upstream suite runs), the CSI sidecars
# (hack/build-csi-sidecars.sh), the images as archives (test/k8s/images.sh),
# the snapshot CRDs (hack/fetch-snapshot-crds.sh), the test binaries. Then
# test/k8s/guest-cluster.sh in a guest (test/e2e/vm.sh).
#
# Settings (environment):
#   E2E_OUTPUT        results directory (default _output/k8s-e2e; no blanks)
#   E2E_K8S_GO_RUN    -test.run regexp for the tests (default: all)
#   E2E_K8S_OWN       on (default) or off: off skips test/k8s's own tests
#   E2E_K8S_UPSTREAM  ci (default: test/k8s/upstream-ci.txt), full (every
#                     External.Storage test; make k8s-e2e-full) or off: the
#                     upstream storage suite, after test/k8s's own tests
#   E2E_K8S_UPSTREAM_FOCUS  a -ginkgo.focus regexp in place of the mode's
#                     (e.g. one test's name, while working on it)
#   E2E_VM_MEMORY     guest memory in MiB (default here 6144: the control plane,
#                     containerd's images and the volume group all live in RAM)
#   E2E_VM_TIMEOUT    seconds before a hung guest is killed (default here 5400;
#                     7200 with the upstream CI subset, 86400 with the full suite)
#   E2E_VM_CPUS, E2E_VM_CACHE, E2E_VG_SIZE, E2E_THIN_POOL_SIZE: see test/e2e
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
out=${E2E_OUTPUT:-$repo/_output/k8s-e2e}
bin=$repo/bin/k8s
t0=$SECONDS

log() { printf '[k8s-e2e %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
# step NAME CMD...: CMD, timed.
step() {
  local name=$1 t=$SECONDS; shift
  log "$name"
  "$@"
  log "$name: $((SECONDS - t))s"
}

[ "$(id -u)" = 0 ] || { log "must run as root (buildah, the guest's devices)"; exit 1; }
upstream=${E2E_K8S_UPSTREAM:-ci}
case $upstream in ci | full | off) ;; *) log "E2E_K8S_UPSTREAM=$upstream: not ci, full or off"; exit 2 ;; esac
case ${E2E_K8S_OWN:-on} in on | off) ;; *) log "E2E_K8S_OWN=$E2E_K8S_OWN: not on or off"; exit 2 ;; esac
[ "$upstream" != off ] || [ "${E2E_K8S_OWN:-on}" = on ] || { log "E2E_K8S_OWN=off and E2E_K8S_UPSTREAM=off: nothing to run"; exit 2; }

# --- on the host: tools, images, test binaries ---------------------------------------
step "Debian packages" sh -c 'hack/install-e2e-deps.sh && hack/install-k8s-deps.sh'
kube_bin=$(step "Kubernetes $(printf '%s' "${KUBE_VERSION:-v1.37.2}") and helm" hack/build-kube-tools.sh --cluster | tail -n 1)
sidecar_bin=$(step "CSI sidecars" hack/build-csi-sidecars.sh | tail -n 1)
e2e_bin=
[ "$upstream" = off ] || e2e_bin=$(step "e2e.test and agnhost" hack/build-kube-e2e.sh | tail -n 1)
crds=$(hack/fetch-snapshot-crds.sh | tail -n 1)
mkdir -p "$bin"
build_tests() {
  (cd "$here" && go vet -tags k8s ./... && go test -c -tags k8s -o "$bin/k8s.test" .)
  # The host-side tests of the harness itself (no cluster): upstream-junit.jq.
  (cd "$here" && go test -count=1 -run 'TestUpstreamJUnit' .)
  go build -o "$bin/junitsum" ./test/e2e/junitsum
  # test2json ships as source with Go; built so the guest needs no `go`.
  go build -o "$bin/test2json" cmd/test2json
}
step "test binaries" build_tests
rm -rf "$out"
mkdir -p "$out/junit"
out=$(cd "$out" && pwd)
step "images" "$here/images.sh" "$sidecar_bin" "$out/images.env" ${e2e_bin:+"$e2e_bin"}

# snapshot-controller's RBAC from the external-snapshotter module the sidecars were built from.
snap_src=$(ls -d "${XDG_CACHE_HOME:-$HOME/.cache}"/lvm-iscsi-csi/csi-sidecars/src/github.com_kubernetes-csi_external-snapshotter_*@"$(sed 's/.*@//' "$sidecar_bin/snapshot-controller.version")")
cat > "$out/inputs.env" <<EOF
K8S_BIN=$(printf '%q' "$kube_bin")
K8S_IMAGES_ENV=$(printf '%q' "$out/images.env")
K8S_CRDS=$(printf '%q' "$crds")
K8S_SNAPSHOT_RBAC=$(printf '%q' "$snap_src/deploy/kubernetes/snapshot-controller/rbac-snapshot-controller.yaml")
K8S_TEST_BIN=$(printf '%q' "$bin")
K8S_E2E_BIN=$(printf '%q' "$e2e_bin")
K8S_UPSTREAM=$upstream
EOF
log "host side ready in $((SECONDS - t0))s"

# --- in the guest ----------------------------------------------------------------------------
export E2E_OUTPUT=$out E2E_MODE=vm
# The guest's time limit: the cluster and test/k8s's tests take about 45
# minutes under emulation, the upstream CI subset about 20 more, the full
# suite hours (docs/testing.md).
case $upstream in
  off) vm_timeout=5400 ;;
  ci) vm_timeout=7200 ;;
  full) vm_timeout=86400 ;;
esac
export E2E_VM_MEMORY=${E2E_VM_MEMORY:-6144} E2E_VM_TIMEOUT=${E2E_VM_TIMEOUT:-$vm_timeout}
t1=$SECONDS
rc=0
"$repo/test/e2e/vm.sh" "$out" "$here/guest-cluster.sh" || rc=$?
log "guest ran $((SECONDS - t1))s (exit $rc); total $((SECONDS - t0))s"

shopt -s nullglob
junit=("$out"/junit/*.xml)
if [ ${#junit[@]} -eq 0 ]; then
  log "no JUnit results: the run did not get as far as the tests; see $out/console.log and $out/logs"
  echo "k8s-e2e: 0 passed, 0 failed, 0 skipped"
  exit 1
fi
sum_rc=0
summary=$("$bin/junitsum" "${junit[@]}") || sum_rc=$?
echo "k8s-e2e: $summary"
if [ "$rc" != 0 ] || [ "$sum_rc" != 0 ]; then
  log "FAILED; see $out/k8s.log, $out/console.log and $out/logs"
  exit 1
fi
