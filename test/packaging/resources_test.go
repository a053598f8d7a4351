package packaging

import (
	"testing"
)

// TestEveryContainerHasResources: every container of both pods has CPU and
// memory requests and a memory limit, in every render and with the
// upstream sidecars, so no pod is BestEffort (first to be OOM-killed,
// oom_score_adj 1000) and no container grows without bound.
func TestEveryContainerHasResources(t *testing.T) {
	forEachRender(t, checkResources)
	t.Run("sidecar modes", func(t *testing.T) {
		checkResources(t, helmTemplate(t, "lvm-iscsi-csi", "kube-system", append([]string{"--values", ciValues("thin-values.yaml")}, sidecarModes...)...))
	})
}

func checkResources(t *testing.T, r render) {
	t.Helper()
	for _, kind := range []string{"Deployment", "DaemonSet"} {
		_, w := onlyWorkload(t, r, kind)
		for _, c := range w.Spec.Template.Spec.Containers {
			for _, want := range []struct {
				what string
				m    map[string]string
				key  string
			}{
				{"requests", c.Resources.Requests, "cpu"},
				{"requests", c.Resources.Requests, "memory"},
				{"limits", c.Resources.Limits, "memory"},
			} {
				if want.m[want.key] == "" {
					t.Errorf("%s/%s: no %s.%s", kind, c.Name, want.what, want.key)
				}
			}
		}
	}
}

// criticalPriorities are the priority classes kubelet treats as critical:
// it never evicts such a pod under memory pressure and admits it while the
// node is under pressure.
var criticalPriorities = map[string]bool{"system-cluster-critical": true, "system-node-critical": true}

// TestDefaultPodsAreCritical: by default neither pod is evicted under
// memory pressure: the controller pod carries tgtd, which every node's I/O
// goes through, and the node plugin unmounts and logs out for its node.
func TestDefaultPodsAreCritical(t *testing.T) {
	r := helmTemplate(t, "lvm-iscsi-csi", "kube-system", "--values", ciValues("thin-values.yaml"))
	for _, kind := range []string{"Deployment", "DaemonSet"} {
		_, w := onlyWorkload(t, r, kind)
		if p := w.Spec.Template.Spec.PriorityClassName; !criticalPriorities[p] {
			t.Errorf("%s: priorityClassName %q is not critical: kubelet may evict it under memory pressure", kind, p)
		}
	}
}

// pressureTaints are the taints the node lifecycle controller puts on a
// node under memory, disk or PID pressure.
var pressureTaints = []string{"node.kubernetes.io/memory-pressure", "node.kubernetes.io/disk-pressure", "node.kubernetes.io/pid-pressure"}

// TestControllerToleratesPressure: the controller cannot move (it is pinned
// to the storage host), so a replacement pod must be scheduled there even
// while the host is under pressure: every volume's I/O waits for its tgtd.
// (DaemonSet pods get these tolerations from Kubernetes itself.)
func TestControllerToleratesPressure(t *testing.T) {
	forEachRender(t, func(t *testing.T, r render) {
		_, w := onlyWorkload(t, r, "Deployment")
		for _, taint := range pressureTaints {
			ok := false
			for _, tol := range w.Spec.Template.Spec.Tolerations {
				ok = ok || (tol.Operator == "Exists" && (tol.Key == taint || tol.Key == "") && (tol.Effect == "" || tol.Effect == "NoSchedule"))
			}
			if !ok {
				t.Errorf("the controller does not tolerate %s: a replacement pod would wait until the pressure is gone", taint)
			}
		}
	})
}
