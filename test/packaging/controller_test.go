package packaging

import (
	"net"
	"net/netip"
	"testing"
)

// TestController: the controller runs once, on the storage host, on the
// host's network (tgtd's portal), with tgtd's socket and the state directory
// on host paths, and a portal nodes can reach without name resolution.
func TestController(t *testing.T) {
	forEachRender(t, func(t *testing.T, r render) {
		_, w := onlyWorkload(t, r, "Deployment")
		pod := w.Spec.Template.Spec
		if w.Spec.Replicas == nil || *w.Spec.Replicas != 1 {
			t.Errorf("replicas %v, want 1: one controller per storage host", w.Spec.Replicas)
		}
		if w.Spec.Strategy.Type != "Recreate" {
			t.Errorf("strategy %q, want Recreate: old and new controllers must not overlap", w.Spec.Strategy.Type)
		}
		if pod.NodeSelector["kubernetes.io/hostname"] == "" {
			t.Error("no kubernetes.io/hostname node selector: the controller must be pinned to the storage host")
		}
		if !pod.HostNetwork {
			t.Error("hostNetwork is off: tgtd would not listen on the storage host's portal")
		}
		checkMountsResolve(t, pod)

		driver := pod.container(t, "lvm-iscsi-csi")
		if mode, _ := driver.flag("mode"); mode != "controller" {
			t.Errorf("--mode=%q, want controller", mode)
		}
		portal, _ := driver.flag("portal")
		host, _, err := net.SplitHostPort(portal)
		if err != nil {
			t.Errorf("--portal=%q: %v", portal, err)
		} else if _, err := netip.ParseAddr(host); err != nil {
			t.Errorf("--portal=%q: the host must be an IP address: %v", portal, err)
		}
		if vg, _ := driver.flag("volume-group"); vg == "" {
			t.Error("no --volume-group")
		}

		stateDir, _ := driver.flag("state-dir")
		if m, ok := driver.mountAt(stateDir); !ok || pod.hostPath(m.Name) == "" {
			t.Errorf("--state-dir=%s is not on a host path: 0.1's CHAP secrets would not survive a restart", stateDir)
		}
		// The controller's volume group lock (pkg/exclusive) excludes only
		// controllers that see the same file: every release must put the
		// host's LVM lock directory there, at the driver's default path.
		vgLockDir, ok := driver.flag("vg-lock-dir")
		if !ok {
			vgLockDir = "/run/lock/lvm" // pkg/driver.DefaultVGLockDir
		}
		if m, ok := driver.mountAt(vgLockDir); !ok || pod.hostPath(m.Name) != "/run/lock/lvm" {
			t.Errorf("--vg-lock-dir %s is not the host's /run/lock/lvm: a second controller on the volume group would not see the first's lock", vgLockDir)
		}
		sock, ok := driver.mountAt("/run/tgtd")
		if !ok || pod.hostPath(sock.Name) == "" {
			t.Fatal("the driver does not see tgtd's socket directory /run/tgtd on a host path")
		}
		checkPrivilegedOnly(t, pod, "lvm-iscsi-csi", "tgtd")
		if !pod.hasContainer("tgtd") {
			return // the storage host runs tgtd itself
		}
		tgtd := pod.container(t, "tgtd")
		if m, ok := tgtd.mountAt("/run/tgtd"); !ok || m.Name != sock.Name {
			t.Errorf("tgtd's /run/tgtd is not the driver's socket volume %q", sock.Name)
		}
		if len(tgtd.Command) == 0 || tgtd.Command[0] != "tgtd" {
			t.Errorf("tgtd container runs %v, want tgtd in the foreground", tgtd.Command)
		}
	})
}
