#!/usr/bin/env bash
# The upstream Kubernetes storage e2e suite against the driver, inside the
# k8s-e2e guest once the chart is installed (started by
# test/k8s/guest-cluster.sh):
#
#   test/k8s/upstream.sh ci|full E2E_TEST KUBECONFIG OUT
#
# E2E_TEST is e2e.test (hack/build-kube-e2e.sh), run with
# test/k8s/testdriver.yaml: the "External Storage [Driver: ...]" tests.
#   ci    the subset in test/k8s/upstream-ci.txt (make k8s-e2e)
#   full  every External.Storage test (make k8s-e2e-full)
# Both leave out [Disruptive] tests: they restart kubelet over SSH
# (e2essh, a provider's SSH keys), which this cluster has none of; they
# would fail without reaching the driver.
#
# Writes OUT/upstream.log (ginkgo's verbose output), OUT/upstream.json
# (ginkgo's JSON report), OUT/upstream/ (the framework's report dir) and
# OUT/junit/upstream.xml (test/k8s/upstream-junit.jq: the tests that ran,
# with each skip's reason). Exits non-zero when a test failed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

[ $# = 4 ] || { echo "usage: $0 ci|full E2E_TEST KUBECONFIG OUT" >&2; exit 2; }
mode=$1 e2e_test=$2 kubeconfig=$3 out=$4

skip='\[Disruptive\]'
case $mode in
  ci)
    focus=$(grep -v -e '^#' -e '^[[:space:]]*$' "$here/upstream-ci.txt" | paste -sd '|')
    # Every line picks tests of this driver only.
    focus="External.Storage.*($focus)"
    timeout=3h
    ;;
  full)
    focus='External.Storage'
    timeout=24h
    ;;
  *) echo "upstream.sh: mode $mode is not ci or full" >&2; exit 2 ;;
esac

# E2E_K8S_UPSTREAM_FOCUS (run.sh's setting, passed into the guest) replaces
# the mode's focus: one test while working on it.
focus=${E2E_K8S_UPSTREAM_FOCUS:-$focus}

mkdir -p "$out/upstream" "$out/junit"
# The framework runs kubectl for some checks (TestContext.KubectlPath: "kubectl" on PATH).
export PATH=$(dirname "$e2e_test"):$PATH
status=0
# -ginkgo.timeout bounds the whole suite (default 1h: too short under
# emulation); each test has its own timeouts from testdriver.yaml.
# Ginkgo runs the specs in one process, one after the other: the storage host
# is one volume group.
"$e2e_test" \
  -kubeconfig "$kubeconfig" \
  -storage.testdriver "$here/testdriver.yaml" \
  -ginkgo.focus "$focus" -ginkgo.skip "$skip" \
  -ginkgo.v -ginkgo.no-color -ginkgo.timeout "$timeout" \
  -ginkgo.json-report "$out/upstream.json" \
  -report-dir "$out/upstream" \
  > "$out/upstream.log" 2>&1 || status=$?
if [ -s "$out/upstream.json" ]; then
  jq -r -f "$here/upstream-junit.jq" "$out/upstream.json" > "$out/junit/upstream.xml" || status=1
else
  echo "upstream.sh: e2e.test wrote no report (exit $status); see $out/upstream.log" >&2
  status=1
fi
exit "$status"
