package packaging

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// metricsArgs turns metrics on, with both prometheus-operator objects.
var metricsArgs = []string{"--values", ciValues("thin-values.yaml"), "--set", "metrics.enabled=true",
	"--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.podMonitor.enabled=true",
	"--set", "metrics.podMonitor.labels.release=prom", "--set", "sidecars.healthMonitor.enabled=true"}

// metricsSidecars are the controller's sidecars that serve /metrics on
// their --http-endpoint (the node's sidecars serve none).
var metricsSidecars = []string{"csi-provisioner", "csi-attacher", "csi-resizer", "csi-snapshotter", "csi-external-health-monitor-controller"}

// monitorKinds are the objects the chart renders only when asked.
var monitorKinds = []string{"ServiceMonitor", "PodMonitor"}

// TestMetricsOffByDefault: no /metrics listener and no monitoring object
// unless metrics.enabled, and no monitoring object unless asked for.
func TestMetricsOffByDefault(t *testing.T) {
	check := func(t *testing.T, r render, wantMonitors bool) {
		t.Helper()
		for _, kind := range monitorKinds {
			if got := len(r.ofKind(kind)) > 0; got != wantMonitors {
				t.Errorf("%s rendered: %v, want %v", kind, got, wantMonitors)
			}
		}
		for _, o := range r.ofKind("Service") {
			if strings.HasSuffix(o.Metadata.Name, "-metrics") && !wantMonitors {
				t.Errorf("Service %s rendered without a ServiceMonitor asking for it", o.Metadata.Name)
			}
		}
	}
	t.Run("deploy", func(t *testing.T) {
		r := deployRender(t)
		check(t, r, false)
		for _, kind := range []string{"Deployment", "DaemonSet"} {
			_, w := onlyWorkload(t, r, kind)
			c := w.Spec.Template.Spec.container(t, "lvm-iscsi-csi")
			if v, ok := c.flag("metrics-address"); ok {
				t.Errorf("%s: --metrics-address=%s by default", kind, v)
			}
		}
	})
	t.Run("enabled, no monitors asked for", func(t *testing.T) {
		check(t, helmTemplate(t, "lvm-iscsi-csi", "kube-system", "--values", ciValues("thin-values.yaml"), "--set", "metrics.enabled=true"), false)
	})
	t.Run("monitors asked for, metrics off", func(t *testing.T) {
		check(t, helmTemplate(t, "lvm-iscsi-csi", "kube-system", "--values", ciValues("thin-values.yaml"),
			"--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.podMonitor.enabled=true"), false)
	})
}

// TestMetricsMonitorsFindThePods: each component's driver listens on its
// metrics port under the port name "metrics", the ServiceMonitor selects a
// Service that selects the component's pods on that port, and the
// PodMonitor selects the pods themselves.
func TestMetricsMonitorsFindThePods(t *testing.T) {
	r := helmTemplate(t, "lvm-iscsi-csi", "kube-system", metricsArgs...)
	checkNoHostPortTwice(t, r)
	type selector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	var services []metricsService
	for _, o := range r.ofKind("Service") {
		var one metricsService
		o.decode(t, &one)
		services = append(services, one)
	}
	monitors := map[string]map[string]selector{} // kind -> component -> selector
	scraped := map[string][]string{}             // kind/component -> port names
	for _, kind := range monitorKinds {
		monitors[kind] = map[string]selector{}
		for _, o := range r.ofKind(kind) {
			var m struct {
				Metadata struct {
					Labels map[string]string `yaml:"labels"`
				} `yaml:"metadata"`
				Spec struct {
					Selector     selector `yaml:"selector"`
					monitorPorts `yaml:",inline"`
				} `yaml:"spec"`
			}
			o.decode(t, &m)
			ports := m.Spec.ports()
			if len(ports) == 0 || ports[0].Port != "metrics" {
				t.Errorf("%s %s scrapes ports %v, want the one named metrics first", kind, o.Metadata.Name, ports)
			}
			for _, p := range ports {
				scraped[kind+"/"+m.Metadata.Labels["app.kubernetes.io/component"]] = append(scraped[kind+"/"+m.Metadata.Labels["app.kubernetes.io/component"]], p.Port)
			}
			if kind == "PodMonitor" && m.Metadata.Labels["release"] != "prom" {
				t.Errorf("PodMonitor %s lacks the asked-for label release=prom: %v", o.Metadata.Name, m.Metadata.Labels)
			}
			monitors[kind][m.Metadata.Labels["app.kubernetes.io/component"]] = m.Spec.Selector
		}
	}
	for _, kind := range []string{"Deployment", "DaemonSet"} {
		o, w := onlyWorkload(t, r, kind)
		var labelled struct {
			Spec struct {
				Template struct {
					Metadata struct {
						Labels map[string]string `yaml:"labels"`
					} `yaml:"metadata"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		o.decode(t, &labelled)
		podLabels := labelled.Spec.Template.Metadata.Labels
		component := podLabels["app.kubernetes.io/component"]
		c := w.Spec.Template.Spec.container(t, "lvm-iscsi-csi")
		address, ok := c.flag("metrics-address")
		if !ok {
			t.Fatalf("%s: no --metrics-address with metrics.enabled", kind)
		}
		_, port, _ := net.SplitHostPort(address)
		named := false
		for _, p := range c.Ports {
			named = named || (p.Name == "metrics" && port == strconv.Itoa(p.ContainerPort))
		}
		if !named {
			t.Errorf("%s: --metrics-address=%s has no container port named metrics", kind, address)
		}
		if sel, ok := monitors["PodMonitor"][component]; !ok || !subset(sel.MatchLabels, podLabels) {
			t.Errorf("%s: no PodMonitor selects its pods (%v)", kind, podLabels)
		}
		sel, ok := monitors["ServiceMonitor"][component]
		if !ok {
			t.Errorf("%s: no ServiceMonitor for component %s", kind, component)
			continue
		}
		// Every port a monitor scrapes is a container port of the pod,
		// and the Service the ServiceMonitor selects has each of them.
		declared := map[string]bool{}
		for _, c := range w.Spec.Template.Spec.Containers {
			for _, p := range c.Ports {
				declared[p.Name] = true
			}
		}
		for _, mk := range monitorKinds {
			for _, name := range scraped[mk+"/"+component] {
				if !declared[name] {
					t.Errorf("%s: the %s of %s scrapes port %q, which no container declares", kind, mk, component, name)
				}
			}
		}
		found := false
		for _, s := range services {
			if !subset(sel.MatchLabels, s.Metadata.Labels) || !subset(s.Spec.Selector, podLabels) {
				continue
			}
			has := map[string]bool{}
			for _, p := range s.Spec.Ports {
				if p.Name == p.TargetPort {
					has[p.Name] = true
				}
			}
			found = true
			for _, name := range scraped["ServiceMonitor/"+component] {
				found = found && has[name]
			}
		}
		if !found {
			t.Errorf("%s: the ServiceMonitor of %s selects no Service that has every port it scrapes (%v)", kind, component, scraped["ServiceMonitor/"+component])
		}
	}
	checkSidecarMetrics(t, r, true)
}

// checkSidecarMetrics: with metrics on, each of the controller's sidecars
// listens on --http-endpoint=:<port> with a container port of that number
// that both monitors scrape; with metrics off, none listens.
func checkSidecarMetrics(t *testing.T, r render, on bool) {
	t.Helper()
	_, w := onlyWorkload(t, r, "Deployment")
	scrapedBy := map[string]int{}
	for _, kind := range monitorKinds {
		for _, o := range r.ofKind(kind) {
			var m struct {
				Spec monitorPorts `yaml:"spec"`
			}
			o.decode(t, &m)
			for _, p := range m.Spec.ports() {
				scrapedBy[p.Port]++
			}
		}
	}
	for _, c := range w.Spec.Template.Spec.Containers {
		if !slices.Contains(metricsSidecars, c.Name) {
			continue
		}
		address, ok := c.flag("http-endpoint")
		if !on {
			if ok {
				t.Errorf("%s: --http-endpoint=%s with metrics off", c.Name, address)
			}
			continue
		}
		_, port, err := net.SplitHostPort(address)
		if !ok || err != nil {
			t.Errorf("%s: --http-endpoint=%q, want :<port>", c.Name, address)
			continue
		}
		name := ""
		for _, p := range c.Ports {
			if strconv.Itoa(p.ContainerPort) == port {
				name = p.Name
			}
		}
		if name == "" {
			t.Errorf("%s: no container port %s", c.Name, port)
		} else if scrapedBy[name] != 2 {
			t.Errorf("%s: its port %s is scraped by %d monitors, want the ServiceMonitor and the PodMonitor", c.Name, name, scrapedBy[name])
		}
	}
}

// TestSidecarMetricsOffWithMetrics: no sidecar listens unless metrics.enabled.
func TestSidecarMetricsOffWithMetrics(t *testing.T) {
	checkSidecarMetrics(t, helmTemplate(t, "lvm-iscsi-csi", "kube-system", "--values", ciValues("thin-values.yaml"), "--set", "sidecars.healthMonitor.enabled=true"), false)
}

// TestMetricsPortsMustDiffer: a metrics port equal to another port of the
// host network is refused.
func TestMetricsPortsMustDiffer(t *testing.T) {
	for _, set := range []string{"metrics.nodePort=29852", "metrics.controllerPort=29850", "metrics.nodePort=29851",
		"metrics.sidecarPorts.attacher=29852", "metrics.sidecarPorts.resizer=29854", "metrics.sidecarPorts.healthMonitor=29851"} {
		_, err := helmRun(t, "x", "kube-system", "--values", ciValues("thin-values.yaml"), "--set", "metrics.enabled=true", "--set", set)
		if err == nil || !strings.Contains(err.Error(), "must all differ") {
			t.Errorf("--set %s: %v; want a refusal", set, err)
		}
	}
}

func subset(sub, of map[string]string) bool {
	if len(sub) == 0 {
		return false
	}
	for k, v := range sub {
		if of[k] != v {
			return false
		}
	}
	return true
}

// metricsService is the part of a Service the monitors' checks read.
type metricsService struct {
	Metadata struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

// monitorPorts are the ports a ServiceMonitor (endpoints) or a PodMonitor
// (podMetricsEndpoints) scrapes.
type monitorPorts struct {
	Endpoints           []monitorPort `yaml:"endpoints"`
	PodMetricsEndpoints []monitorPort `yaml:"podMetricsEndpoints"`
}

type monitorPort struct {
	Port string `yaml:"port"`
}

func (m monitorPorts) ports() []monitorPort {
	return append(append([]monitorPort(nil), m.Endpoints...), m.PodMetricsEndpoints...)
}
