package packaging

import (
	"path"
	"strings"
	"testing"
)

// The driver serves what kubelet needs besides CSI itself (plugin
// registration, /healthz; pkg/kubeletplugin), so by default the chart runs
// neither node-driver-registrar nor livenessprobe; both stay selectable.

// sidecarModes are the values that bring the upstream sidecars back.
var sidecarModes = []string{"--set", "node.registration=sidecar", "--set", "node.health=sidecar", "--set", "controller.health=sidecar"}

// TestKubeletServices: in every render, the node plugin is registered with
// kubelet exactly once and at the right paths, and both pods' liveness
// probes reach a /healthz that someone in the pod serves.
func TestKubeletServices(t *testing.T) {
	forEachRender(t, checkKubeletServices)
}

// TestKubeletServicesSidecarModes: the same with the upstream sidecars.
func TestKubeletServicesSidecarModes(t *testing.T) {
	r := helmTemplate(t, "lvm-iscsi-csi", "kube-system", append([]string{"--values", ciValues("thin-values.yaml")}, sidecarModes...)...)
	checkKubeletServices(t, r)
	for _, kind := range []string{"Deployment", "DaemonSet"} {
		_, w := onlyWorkload(t, r, kind)
		drv := w.Spec.Template.Spec.container(t, "lvm-iscsi-csi")
		for _, f := range []string{"kubelet-registration-path", "health-address"} {
			if v, ok := drv.flag(f); ok {
				t.Errorf("%s: the driver gets --%s=%s although a sidecar does that job", kind, f, v)
			}
		}
		if !w.Spec.Template.Spec.hasContainer("liveness-probe") {
			t.Errorf("%s: health=sidecar runs no liveness-probe container", kind)
		}
	}
	_, ds := onlyWorkload(t, r, "DaemonSet")
	if !ds.Spec.Template.Spec.hasContainer("node-driver-registrar") {
		t.Error("node.registration=sidecar runs no node-driver-registrar")
	}
}

// TestDefaultsRunNoKubeletSidecars: a user who sets only the storage host
// (and the plain manifests) gets neither sidecar, so a node pulls the
// driver's image and nothing else.
func TestDefaultsRunNoKubeletSidecars(t *testing.T) {
	for name, load := range map[string]func(t *testing.T) render{
		"deploy/kubernetes": deployRender,
		"helm defaults": func(t *testing.T) render {
			return helmTemplate(t, "lvm-iscsi-csi", "kube-system", "--values", ciValues("thin-values.yaml"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := load(t)
			for _, kind := range []string{"Deployment", "DaemonSet"} {
				_, w := onlyWorkload(t, r, kind)
				for _, c := range w.Spec.Template.Spec.Containers {
					if c.Name == "node-driver-registrar" || c.Name == "liveness-probe" {
						t.Errorf("%s runs %s (%s) by default", kind, c.Name, c.Image)
					}
				}
			}
			_, ds := onlyWorkload(t, r, "DaemonSet")
			images := map[string]bool{}
			for _, c := range ds.Spec.Template.Spec.Containers {
				images[c.Image] = true
			}
			if len(images) != 1 {
				t.Errorf("the node plugin pulls %d images (%v), want the driver's only", len(images), images)
			}
		})
	}
}

func checkKubeletServices(t *testing.T, r render) {
	t.Helper()
	_, ds := onlyWorkload(t, r, "DaemonSet")
	checkRegistration(t, ds.Spec.Template.Spec, driverNameOf(t, r))
	checkLiveness(t, "DaemonSet", ds.Spec.Template.Spec)
	_, dep := onlyWorkload(t, r, "Deployment")
	checkLiveness(t, "Deployment", dep.Spec.Template.Spec)
}

// checkRegistration: exactly one container of the node pod registers the
// plugin, telling kubelet the CSI socket's host path, which is where kubelet
// expects a driver of that name (<kubelet-dir>/plugins/<name>/csi.sock), and
// its registration socket lands in the registry kubelet watches.
func checkRegistration(t *testing.T, pod podSpec, driverName string) {
	t.Helper()
	drv := pod.container(t, "lvm-iscsi-csi")
	kubeletDir, _ := drv.flag("kubelet-dir")
	endpoint, _ := drv.flag("endpoint")
	hostSock := pod.hostPathOf(drv, strings.TrimPrefix(endpoint, "unix://"))
	if want := path.Join(kubeletDir, "plugins", driverName, "csi.sock"); hostSock != want {
		t.Errorf("the CSI socket %s is the host's %q, want %s", endpoint, hostSock, want)
	}
	registry := path.Join(kubeletDir, "plugins_registry")
	var registrars []string
	if p, ok := drv.flag("kubelet-registration-path"); ok {
		registrars = append(registrars, drv.Name)
		if p != hostSock {
			t.Errorf("driver: --kubelet-registration-path=%s, but its socket is the host's %s", p, hostSock)
		}
		// The driver makes <kubelet-dir>/plugins_registry/<name>-reg.sock.
		if got := pod.hostPathOf(drv, registry); got != registry {
			t.Errorf("driver: %s inside is the host's %q: kubelet would not see the registration socket", registry, got)
		}
	}
	if pod.hasContainer("node-driver-registrar") {
		reg := pod.container(t, "node-driver-registrar")
		registrars = append(registrars, reg.Name)
		if p, _ := reg.flag("kubelet-registration-path"); p != hostSock {
			t.Errorf("node-driver-registrar: --kubelet-registration-path=%s, but the socket is the host's %s", p, hostSock)
		}
		if addr, _ := reg.flag("csi-address"); pod.hostPathOf(reg, addr) != hostSock {
			t.Errorf("node-driver-registrar: --csi-address=%s is not the driver's socket %s", addr, hostSock)
		}
		if got := pod.hostPathOf(reg, "/registration"); got != registry {
			t.Errorf("node-driver-registrar: /registration is the host's %q, want %s", got, registry)
		}
	}
	if len(registrars) != 1 {
		t.Errorf("%d containers register the plugin with kubelet (%v), want exactly one", len(registrars), registrars)
	}
}

// checkLiveness: the driver container's liveness probe asks /healthz on a
// port that exactly one container of the pod listens on, at an address the
// probe reaches (kubelet probes a host-network pod at the node's address
// unless the probe names a host).
func checkLiveness(t *testing.T, kind string, pod podSpec) {
	t.Helper()
	drv := pod.container(t, "lvm-iscsi-csi")
	if drv.LivenessProbe == nil || drv.LivenessProbe.HTTPGet == nil {
		t.Errorf("%s: the driver has no HTTP liveness probe", kind)
		return
	}
	get := drv.LivenessProbe.HTTPGet
	if get.Path != "/healthz" {
		t.Errorf("%s: liveness probe path %q, want /healthz", kind, get.Path)
	}
	port := drv.probePort(t)
	var serving []listener
	for _, l := range pod.listeners(t) {
		if l.port == port {
			serving = append(serving, l)
		}
	}
	if len(serving) != 1 {
		t.Errorf("%s: %d containers listen on the liveness port %d (%v), want one", kind, len(serving), port, serving)
		return
	}
	l := serving[0]
	if l.container != "lvm-iscsi-csi" && l.container != "liveness-probe" {
		t.Errorf("%s: the liveness port %d is %s's, which serves no /healthz", kind, port, l.container)
	}
	if l.host != "" && l.host != "0.0.0.0" && l.host != "::" && l.host != get.Host {
		t.Errorf("%s: /healthz listens on %s only, the probe asks %q", kind, l.host, get.Host)
	}
}

// driverNameOf is the --driver-name every driver container of the render
// gets; they must agree.
func driverNameOf(t *testing.T, r render) string {
	t.Helper()
	name := ""
	for _, kind := range []string{"Deployment", "DaemonSet"} {
		_, w := onlyWorkload(t, r, kind)
		n, ok := w.Spec.Template.Spec.container(t, "lvm-iscsi-csi").flag("driver-name")
		if !ok {
			t.Fatalf("%s: the driver gets no --driver-name", kind)
		}
		if name != "" && n != name {
			t.Fatalf("the controller and the node plugin disagree on the driver name: %s, %s", name, n)
		}
		name = n
	}
	return name
}
