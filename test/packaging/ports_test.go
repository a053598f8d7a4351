package packaging

import (
	"testing"
)

// upstreamHealthPorts are livenessprobe's defaults, which nearly every CSI
// driver's chart keeps: on the host network, a second driver on the same
// node would find them taken.
var upstreamHealthPorts = map[int]bool{9808: true, 9809: true}

// TestNoHostPortTwice: both pods use the host's network and may share a
// node (the storage host runs a node plugin too when it runs pods), so no
// two containers of the chart may listen on the same port.
func TestNoHostPortTwice(t *testing.T) {
	forEachRender(t, checkNoHostPortTwice)
	t.Run("sidecar modes", func(t *testing.T) {
		checkNoHostPortTwice(t, helmTemplate(t, "lvm-iscsi-csi", "kube-system", append([]string{"--values", ciValues("thin-values.yaml")}, sidecarModes...)...))
	})
}

func checkNoHostPortTwice(t *testing.T, r render) {
	t.Helper()
	var all []listener
	for _, kind := range []string{"Deployment", "DaemonSet"} {
		o, w := onlyWorkload(t, r, kind)
		if !w.Spec.Template.Spec.HostNetwork {
			continue
		}
		for _, l := range w.Spec.Template.Spec.listeners(t) {
			l.container = kind + " " + o.Metadata.Name + "/" + l.container
			all = append(all, l)
		}
	}
	checkDisjointPorts(t, all)
}

// checkDisjointPorts fails for every port two listeners share.
func checkDisjointPorts(t *testing.T, ls []listener) {
	t.Helper()
	owner := map[int]string{}
	for _, l := range ls {
		if other, dup := owner[l.port]; dup {
			t.Errorf("port %d: %s and %s both listen on it on the host network", l.port, other, l.container)
			continue
		}
		owner[l.port] = l.container
	}
}

// TestDefaultHealthPorts: the default health ports are not the upstream
// livenessprobe defaults, and lie outside Linux's ephemeral port range
// (32768-60999), where an outgoing connection could hold them when the
// driver starts.
func TestDefaultHealthPorts(t *testing.T) {
	for name, modes := range map[string][]string{"driver": nil, "sidecar": sidecarModes} {
		r := helmTemplate(t, "lvm-iscsi-csi", "kube-system", append([]string{"--values", ciValues("thin-values.yaml")}, modes...)...)
		for _, kind := range []string{"Deployment", "DaemonSet"} {
			_, w := onlyWorkload(t, r, kind)
			for _, l := range w.Spec.Template.Spec.listeners(t) {
				if upstreamHealthPorts[l.port] {
					t.Errorf("%s modes: %s/%s listens on %d, livenessprobe's default that other drivers on the host network use", name, kind, l.container, l.port)
				}
				if l.port >= 32768 && l.port <= 60999 {
					t.Errorf("%s modes: %s/%s listens on %d, in the ephemeral port range", name, kind, l.container, l.port)
				}
			}
		}
	}
}
