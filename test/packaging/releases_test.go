package packaging

import (
	"path"
	"strings"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/kubeletplugin"
)

// sharedHostPaths are host directories that every release's pods mount on
// purpose, because they are the host's own: devices, sysfs, udev's
// database, open-iscsi's configuration and lock (one iscsid per host, and
// iscsiadm's node records must be edited under one lock), lvm's
// configuration, run and lock directories (one lvm per host), tgtd's
// socket directory (only the controller mounts it, and there is one
// controller per storage host). kubelet's directory is shared too.
var sharedHostPaths = map[string]bool{
	"/dev": true, "/sys": true, "/run/udev": true,
	"/etc/iscsi": true, "/run/lock/iscsi": true,
	"/etc/lvm": true, "/run/lvm": true, "/run/lock/lvm": true,
	"/run/tgtd": true,
}

// TestTwoReleases: a second storage host gets its own release, with its own
// driver name (ci/second-host-values.yaml holds what docs/install.md tells
// a user to set). Installed beside the first in the same namespace, the
// two render no object of the same name, and pods that can share a node
// (both node plugins everywhere; a node plugin on the other release's
// storage host) take no host port twice and no host path of the other
// release's own.
func TestTwoReleases(t *testing.T) {
	a := helmTemplate(t, "lvm-iscsi-csi", "kube-system", append([]string{"--values", ciValues("thin-values.yaml")}, snapshotAPIs...)...)
	b := helmTemplate(t, "lvm-iscsi-csi-storage-2", "kube-system", append([]string{"--values", ciValues("second-host-values.yaml")}, snapshotAPIs...)...)
	if na, nb := driverNameOf(t, a), driverNameOf(t, b); na == nb {
		t.Fatalf("both releases are driver %s", na)
	}

	seen := map[string]bool{}
	for _, o := range a.objects {
		seen[o.Kind+" "+o.Metadata.Namespace+"/"+o.Metadata.Name] = true
	}
	for _, o := range b.objects {
		if k := o.Kind + " " + o.Metadata.Namespace + "/" + o.Metadata.Name; seen[k] {
			t.Errorf("both releases render %s", k)
		}
	}

	pods := func(r render) map[string]podSpec {
		_, dep := onlyWorkload(t, r, "Deployment")
		_, ds := onlyWorkload(t, r, "DaemonSet")
		return map[string]podSpec{"controller": dep.Spec.Template.Spec, "node": ds.Spec.Template.Spec}
	}
	pa, pb := pods(a), pods(b)
	for _, ka := range []string{"controller", "node"} {
		for _, kb := range []string{"controller", "node"} {
			if ka == "controller" && kb == "controller" &&
				pa[ka].NodeSelector["kubernetes.io/hostname"] != pb[kb].NodeSelector["kubernetes.io/hostname"] {
				continue // each controller on its own storage host
			}
			t.Run(ka+"/"+kb, func(t *testing.T) {
				var ls []listener
				for _, l := range pa[ka].listeners(t) {
					l.container = "first " + ka + "/" + l.container
					ls = append(ls, l)
				}
				for _, l := range pb[kb].listeners(t) {
					l.container = "second " + kb + "/" + l.container
					ls = append(ls, l)
				}
				checkDisjointPorts(t, ls)
				for _, x := range ownHostPaths(t, a, pa[ka]) {
					for _, y := range ownHostPaths(t, b, pb[kb]) {
						if overlaps(x, y) {
							t.Errorf("both releases use the host's %s and %s", x, y)
						}
					}
				}
			})
		}
	}
}

// ownHostPaths are the host paths a release's pod takes for itself: its
// hostPath volumes other than the shared ones and kubelet's directory, and
// the registration socket its node plugin makes in kubelet's registry.
func ownHostPaths(t *testing.T, r render, pod podSpec) []string {
	t.Helper()
	drv := pod.container(t, "lvm-iscsi-csi")
	kubeletDir, node := drv.flag("kubelet-dir")
	var out []string
	for _, v := range pod.Volumes {
		if v.HostPath == nil || sharedHostPaths[v.HostPath.Path] || (node && v.HostPath.Path == kubeletDir) {
			continue
		}
		if node && v.HostPath.Path == path.Join(kubeletDir, "plugins_registry") {
			continue // node-driver-registrar's view of the registry; the socket is below
		}
		out = append(out, v.HostPath.Path)
	}
	if node {
		reg := kubeletplugin.Registration{DriverName: driverNameOf(t, r), RegistryDir: path.Join(kubeletDir, "plugins_registry")}
		out = append(out, reg.SocketPath())
	}
	return out
}

// overlaps reports whether one path is the other or lies below it.
func overlaps(a, b string) bool {
	a, b = path.Clean(a), path.Clean(b)
	return a == b || strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}
