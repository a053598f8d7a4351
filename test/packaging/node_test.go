package packaging

import (
	"path"
	"testing"
)

// TestNodePlugin: the node plugin's paths agree with kubelet's, its mounts
// reach the host and the pods, and it reaches the host's iscsid.
func TestNodePlugin(t *testing.T) {
	forEachRender(t, func(t *testing.T, r render) {
		_, w := onlyWorkload(t, r, "DaemonSet")
		pod := w.Spec.Template.Spec
		checkMountsResolve(t, pod)
		if !pod.HostNetwork {
			t.Error("hostNetwork is off: iscsiadm reaches the host's iscsid through an abstract socket of the host's network namespace")
		}
		driver := pod.container(t, "lvm-iscsi-csi")
		if mode, _ := driver.flag("mode"); mode != "node" {
			t.Errorf("--mode=%q, want node", mode)
		}

		nodeID, _ := driver.flag("node-id")
		if nodeID != "$(NODE_NAME)" {
			t.Errorf("--node-id=%q, want $(NODE_NAME)", nodeID)
		}
		fromNodeName := false
		for _, e := range driver.Env {
			if e.Name == "NODE_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
				fromNodeName = e.ValueFrom.FieldRef.FieldPath == "spec.nodeName"
			}
		}
		if !fromNodeName {
			t.Error("NODE_NAME does not come from spec.nodeName")
		}

		kubeletDir, _ := driver.flag("kubelet-dir")
		m, ok := driver.mountAt(kubeletDir)
		switch {
		case !ok:
			t.Errorf("--kubelet-dir=%s is not mounted at that path", kubeletDir)
		case m.MountPropagation != "Bidirectional":
			t.Errorf("kubelet dir propagation %q, want Bidirectional", m.MountPropagation)
		case pod.hostPath(m.Name) != kubeletDir:
			t.Errorf("kubelet dir mounted from host %q, want %q", pod.hostPath(m.Name), kubeletDir)
		}

		// kubelet finds the socket where the registration says it is.
		checkRegistration(t, pod, driverNameOf(t, r))

		// The host's devices, sysfs, open-iscsi configuration and lock, and state.
		for _, p := range []string{"/dev", "/sys", "/etc/iscsi", "/run/lock/iscsi", "/run/udev"} {
			if m, ok := driver.mountAt(p); !ok || pod.hostPath(m.Name) == "" {
				t.Errorf("%s is not a host path in the node plugin", p)
			}
		}
		if f, _ := driver.flag("initiator-name-file"); path.Dir(f) != "/etc/iscsi" {
			t.Errorf("--initiator-name-file=%s is not in the host's /etc/iscsi", f)
		}
		if f, _ := driver.flag("iscsi-lock-file"); path.Dir(f) != "/run/lock/iscsi" {
			t.Errorf("--iscsi-lock-file=%s is not in the host's /run/lock/iscsi", f)
		}
		stateDir, _ := driver.flag("state-dir")
		if m, ok := driver.mountAt(stateDir); !ok || pod.hostPath(m.Name) == "" {
			t.Errorf("--state-dir=%s is not on a host path: the node key and staging records would not survive a restart", stateDir)
		}
		checkPrivilegedOnly(t, pod, "lvm-iscsi-csi")
	})
}
