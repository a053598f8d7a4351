package main

import (
	"strings"
	"testing"
)

const rendered = `# Source: chart/templates/node.yaml
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node
spec:
  template:
    spec:
      containers:
        - name: driver
          args: ["--mode=node"]
          livenessProbe:
            httpGet: {path: /healthz, port: 9809}
            timeoutSeconds: 5
        - name: node-driver-registrar
          image: registrar
        - name: liveness-probe
          image: probe
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: sa
`

func TestFilterDropsNamedContainersOnly(t *testing.T) {
	out, err := filter(strings.NewReader(rendered), map[string]bool{"node-driver-registrar": true, "liveness-probe": true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, gone := range []string{"node-driver-registrar", "registrar", "liveness-probe", "image: probe"} {
		if strings.Contains(s, gone) {
			t.Errorf("output still has %q:\n%s", gone, s)
		}
	}
	for _, kept := range []string{"name: driver", "--mode=node", "kind: ServiceAccount", "# Source: chart/templates/node.yaml"} {
		if !strings.Contains(s, kept) {
			t.Errorf("output lost %q:\n%s", kept, s)
		}
	}
}

func TestFilterRefusesANameThatMatchesNothing(t *testing.T) {
	_, err := filter(strings.NewReader(rendered), map[string]bool{"csi-node-driver-registrar": true}, 0)
	if err == nil || !strings.Contains(err.Error(), "csi-node-driver-registrar") {
		t.Fatalf("want an error naming the container, got %v", err)
	}
}

func TestFilterSetsLivenessTimeout(t *testing.T) {
	out, err := filter(strings.NewReader(rendered), map[string]bool{"liveness-probe": true}, 60)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if !strings.Contains(s, "timeoutSeconds: 60") || strings.Contains(s, "timeoutSeconds: 5") {
		t.Errorf("liveness timeout not replaced:\n%s", s)
	}
	if !strings.Contains(s, "path: /healthz") {
		t.Errorf("the rest of the probe is gone:\n%s", s)
	}
}
