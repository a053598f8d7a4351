package packaging

import (
	"slices"
	"strings"
	"testing"
)

// rbacRule is one rule of a ClusterRole or Role.
type rbacRule struct {
	APIGroups []string `yaml:"apiGroups"`
	Resources []string `yaml:"resources"`
	Verbs     []string `yaml:"verbs"`
}

// grants says whether rules allow verb on resource of the core group.
func grants(rules []rbacRule, resource, verb string) bool {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, "") && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
			return true
		}
	}
	return false
}

// clusterRulesOf returns the rules of every ClusterRole bound to the
// controller's service account.
func clusterRulesOf(t *testing.T, r render, serviceAccount string) []rbacRule {
	t.Helper()
	bound := map[string]bool{}
	for _, o := range r.ofKind("ClusterRoleBinding") {
		var b struct {
			Subjects []struct {
				Kind string `yaml:"kind"`
				Name string `yaml:"name"`
			} `yaml:"subjects"`
			RoleRef struct {
				Name string `yaml:"name"`
			} `yaml:"roleRef"`
		}
		o.decode(t, &b)
		for _, s := range b.Subjects {
			if s.Kind == "ServiceAccount" && s.Name == serviceAccount {
				bound[b.RoleRef.Name] = true
			}
		}
	}
	var rules []rbacRule
	for _, o := range r.ofKind("ClusterRole") {
		if !bound[o.Metadata.Name] {
			continue
		}
		var cr struct {
			Rules []rbacRule `yaml:"rules"`
		}
		o.decode(t, &cr)
		rules = append(rules, cr.Rules...)
	}
	return rules
}

// driverRules are the rules of the ClusterRole of the driver itself.
func driverRules(t *testing.T, r render) ([]rbacRule, bool) {
	t.Helper()
	for _, o := range r.ofKind("ClusterRole") {
		if strings.HasSuffix(o.Metadata.Name, "-controller-events") {
			var cr struct {
				Rules []rbacRule `yaml:"rules"`
			}
			o.decode(t, &cr)
			return cr.Rules, true
		}
	}
	return nil, false
}

// TestKubeEvents: the chart turns the controller's Events on by default,
// with the downward-API environment that names its pod and the rights to
// post events and read PVs; off, neither the flag nor the rights.
func TestKubeEvents(t *testing.T) {
	if v, _ := onlyWorkloadContainer(t, deployRender(t), "lvm-iscsi-csi").flag("kube-events"); v != "true" {
		t.Errorf("deploy/kubernetes: --kube-events=%q, want true by default", v)
	}
	forEachRender(t, func(t *testing.T, r render) {
		_, w := onlyWorkload(t, r, "Deployment")
		c := w.Spec.Template.Spec.container(t, "lvm-iscsi-csi")
		v, _ := c.flag("kube-events")
		if v == "false" {
			if _, ok := driverRules(t, r); ok {
				t.Error("the driver's events ClusterRole rendered with --kube-events=false")
			}
			return
		}
		if v != "true" {
			t.Fatalf("--kube-events=%q, want true or false", v)
		}
		env := map[string]string{}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
				env[e.Name] = e.ValueFrom.FieldRef.FieldPath
			}
		}
		for name, path := range map[string]string{"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace", "POD_UID": "metadata.uid"} {
			if env[name] != path {
				t.Errorf("env %s from %q, want the downward API's %s", name, env[name], path)
			}
		}
		rules := clusterRulesOf(t, r, w.Spec.Template.Spec.ServiceAccountName)
		for _, want := range [][2]string{{"events", "create"}, {"events", "patch"}, {"persistentvolumes", "get"}} {
			if !grants(rules, want[0], want[1]) {
				t.Errorf("the controller's service account may not %s %s", want[1], want[0])
			}
		}
		if _, ok := driverRules(t, r); !ok {
			t.Error("no ClusterRole of the driver's own for its events")
		}
	})
	t.Run("off", func(t *testing.T) {
		r := helmTemplate(t, "lvm-iscsi-csi", "kube-system", "--values", ciValues("thin-values.yaml"), "--set", "controller.kubeEvents=false")
		_, w := onlyWorkload(t, r, "Deployment")
		c := w.Spec.Template.Spec.container(t, "lvm-iscsi-csi")
		if v, _ := c.flag("kube-events"); v != "false" {
			t.Errorf("--kube-events=%q with controller.kubeEvents=false", v)
		}
		if _, ok := driverRules(t, r); ok {
			t.Error("the driver's events ClusterRole rendered with controller.kubeEvents=false")
		}
	})
}

// TestHealthMonitorSidecar: off by default; on, the sidecar runs in the
// controller pod on the CSI socket, elects a leader, and may read PVs, PVCs,
// pods and nodes and post events.
func TestHealthMonitorSidecar(t *testing.T) {
	_, w := onlyWorkload(t, deployRender(t), "Deployment")
	for _, c := range w.Spec.Template.Spec.Containers {
		if c.Name == "csi-external-health-monitor-controller" {
			t.Error("deploy/kubernetes: the health monitor runs by default")
		}
	}
	// In every render, the sidecar comes with its rights, and they without it.
	forEachRender(t, func(t *testing.T, r render) {
		_, w := onlyWorkload(t, r, "Deployment")
		running := false
		for _, c := range w.Spec.Template.Spec.Containers {
			running = running || c.Name == "csi-external-health-monitor-controller"
		}
		role := false
		for _, o := range r.ofKind("ClusterRole") {
			role = role || strings.HasSuffix(o.Metadata.Name, "-health-monitor")
		}
		if running != role {
			t.Errorf("health monitor container %v, its ClusterRole %v", running, role)
		}
	})
	r := helmTemplate(t, "lvm-iscsi-csi", "kube-system", "--values", ciValues("thin-values.yaml"), "--set", "sidecars.healthMonitor.enabled=true")
	_, w = onlyWorkload(t, r, "Deployment")
	c := w.Spec.Template.Spec.container(t, "csi-external-health-monitor-controller")
	if !strings.HasPrefix(c.Image, "registry.k8s.io/sig-storage/csi-external-health-monitor-controller:v") {
		t.Errorf("image %q", c.Image)
	}
	if v, _ := c.flag("csi-address"); v != "/csi/csi.sock" {
		t.Errorf("--csi-address=%q", v)
	}
	if v, ok := c.flag("leader-election"); !ok && !slices.Contains(c.Args, "--leader-election") {
		t.Errorf("no --leader-election (%q)", v)
	}
	rules := clusterRulesOf(t, r, w.Spec.Template.Spec.ServiceAccountName)
	for _, want := range [][2]string{{"persistentvolumes", "list"}, {"persistentvolumeclaims", "watch"}, {"pods", "list"}, {"nodes", "watch"}, {"events", "create"}} {
		if !grants(rules, want[0], want[1]) {
			t.Errorf("the health monitor may not %s %s", want[1], want[0])
		}
	}
	checkNoHostPortTwice(t, r)
}

// TestThinPoolWarnBelowFull: the chart refuses a warning threshold at or
// past the full one (the driver would refuse to start); either may be off.
func TestThinPoolWarnBelowFull(t *testing.T) {
	for _, c := range []struct {
		warn, full string
		refused    bool
	}{{"95", "95", true}, {"96", "95", true}, {"80", "95", false}, {"99", "0", false}, {"0", "50", false}} {
		_, err := helmRun(t, "x", "kube-system", "--values", ciValues("thin-values.yaml"),
			"--set", "controller.thinPoolWarnPercent="+c.warn, "--set", "controller.thinPoolFullPercent="+c.full)
		if c.refused && (err == nil || !strings.Contains(err.Error(), "thinPoolWarnPercent")) {
			t.Errorf("warn %s, full %s: %v; want a refusal naming thinPoolWarnPercent", c.warn, c.full, err)
		}
		if !c.refused && err != nil {
			t.Errorf("warn %s, full %s: %v", c.warn, c.full, err)
		}
	}
}

// onlyWorkloadContainer is container name of the render's one Deployment.
func onlyWorkloadContainer(t *testing.T, r render, name string) container {
	t.Helper()
	_, w := onlyWorkload(t, r, "Deployment")
	return w.Spec.Template.Spec.container(t, name)
}
