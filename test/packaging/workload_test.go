package packaging

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// workload is the part of a Deployment or DaemonSet these tests read.
type workload struct {
	Spec struct {
		Replicas *int `yaml:"replicas"`
		Strategy struct {
			Type string `yaml:"type"`
		} `yaml:"strategy"`
		Template struct {
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type podSpec struct {
	HostNetwork        bool              `yaml:"hostNetwork"`
	ServiceAccountName string            `yaml:"serviceAccountName"`
	PriorityClassName  string            `yaml:"priorityClassName"`
	NodeSelector       map[string]string `yaml:"nodeSelector"`
	Tolerations        []struct {
		Key      string `yaml:"key"`
		Operator string `yaml:"operator"`
		Effect   string `yaml:"effect"`
	} `yaml:"tolerations"`
	Containers []container `yaml:"containers"`
	Volumes    []volume    `yaml:"volumes"`
}

type container struct {
	Name            string   `yaml:"name"`
	Image           string   `yaml:"image"`
	ImagePullPolicy string   `yaml:"imagePullPolicy"`
	Command         []string `yaml:"command"`
	Args            []string `yaml:"args"`
	Env             []envVar `yaml:"env"`
	SecurityContext *struct {
		Privileged *bool `yaml:"privileged"`
	} `yaml:"securityContext"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	LivenessProbe *struct {
		HTTPGet *struct {
			Host string    `yaml:"host"`
			Path string    `yaml:"path"`
			Port yaml.Node `yaml:"port"` // a number or a port name
		} `yaml:"httpGet"`
	} `yaml:"livenessProbe"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	VolumeMounts []volumeMount `yaml:"volumeMounts"`
}

type envVar struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom *struct {
		FieldRef *struct {
			FieldPath string `yaml:"fieldPath"`
		} `yaml:"fieldRef"`
	} `yaml:"valueFrom"`
}

type volumeMount struct {
	Name             string `yaml:"name"`
	MountPath        string `yaml:"mountPath"`
	MountPropagation string `yaml:"mountPropagation"`
	ReadOnly         bool   `yaml:"readOnly"`
}

type volume struct {
	Name     string `yaml:"name"`
	HostPath *struct {
		Path string `yaml:"path"`
		Type string `yaml:"type"`
	} `yaml:"hostPath"`
}

// onlyWorkload returns the render's single object of kind, decoded.
func onlyWorkload(t *testing.T, r render, kind string) (object, workload) {
	t.Helper()
	objs := r.ofKind(kind)
	if len(objs) != 1 {
		t.Fatalf("%d %s objects, want 1", len(objs), kind)
	}
	var w workload
	objs[0].decode(t, &w)
	return objs[0], w
}

// container returns the pod's container by name.
func (p podSpec) container(t *testing.T, name string) container {
	t.Helper()
	for _, c := range p.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %q", name)
	return container{}
}

// hasContainer reports whether the pod runs a container of that name.
func (p podSpec) hasContainer(name string) bool {
	for _, c := range p.Containers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// hostPath returns the host path behind the named volume, "" if it is none.
func (p podSpec) hostPath(name string) string {
	for _, v := range p.Volumes {
		if v.Name == name && v.HostPath != nil {
			return v.HostPath.Path
		}
	}
	return ""
}

// mountAt returns the container's mount at path.
func (c container) mountAt(path string) (volumeMount, bool) {
	for _, m := range c.VolumeMounts {
		if m.MountPath == path {
			return m, true
		}
	}
	return volumeMount{}, false
}

// flag returns the value of --name=value in the container's arguments.
func (c container) flag(name string) (string, bool) {
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func (c container) privileged() bool {
	return c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged
}

// checkMountsResolve fails for a volume mount naming no volume of the pod.
func checkMountsResolve(t *testing.T, p podSpec) {
	t.Helper()
	vols := map[string]bool{}
	for _, v := range p.Volumes {
		vols[v.Name] = true
	}
	for _, c := range p.Containers {
		for _, m := range c.VolumeMounts {
			if !vols[m.Name] {
				t.Errorf("container %s mounts volume %q, which the pod does not have", c.Name, m.Name)
			}
		}
	}
}

// checkPrivilegedOnly fails unless exactly the named containers are privileged.
func checkPrivilegedOnly(t *testing.T, p podSpec, names ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, c := range p.Containers {
		if c.privileged() != want[c.Name] {
			t.Errorf("container %s: privileged=%v, want %v", c.Name, c.privileged(), want[c.Name])
		}
	}
}
