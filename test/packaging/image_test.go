package packaging

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// driverContainers are the containers that run the driver's image.
var driverContainers = map[string]bool{"lvm-iscsi-csi": true, "tgtd": true}

// TestDefaultImage: without image values the driver's containers run
// <image.repository>:<the chart's appVersion>, the name `make image`
// builds (hack/verify-packaging.sh checks the archive carries it), and a
// tag value replaces only the tag.
func TestDefaultImage(t *testing.T) {
	var chart struct {
		AppVersion string `yaml:"appVersion"`
	}
	readYAML(t, filepath.Join(chartDir, "Chart.yaml"), &chart)
	var values struct {
		Image struct {
			Repository string `yaml:"repository"`
			Tag        string `yaml:"tag"`
		} `yaml:"image"`
	}
	readYAML(t, filepath.Join(chartDir, "values.yaml"), &values)
	if chart.AppVersion == "" || values.Image.Repository == "" {
		t.Fatalf("appVersion %q, image.repository %q: both must be set", chart.AppVersion, values.Image.Repository)
	}
	if values.Image.Tag != "" {
		t.Errorf("values.yaml sets image.tag %q: the default must follow appVersion", values.Image.Tag)
	}
	t.Run("deploy/kubernetes", func(t *testing.T) {
		checkDriverImages(t, deployRender(t), values.Image.Repository+":"+chart.AppVersion)
	})
	thin := []string{"--values", ciValues("thin-values.yaml")}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"default", thin, values.Image.Repository + ":" + chart.AppVersion},
		{"tag", append(thin, "--set", "image.tag=v9.9.9"), values.Image.Repository + ":v9.9.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkDriverImages(t, helmTemplate(t, "lvm-iscsi-csi", "kube-system", tc.args...), tc.want)
		})
	}
}

func checkDriverImages(t *testing.T, r render, want string) {
	t.Helper()
	for _, kind := range []string{"Deployment", "DaemonSet"} {
		_, w := onlyWorkload(t, r, kind)
		for _, c := range w.Spec.Template.Spec.Containers {
			if driverContainers[c.Name] && c.Image != want {
				t.Errorf("%s/%s runs %s, want %s", kind, c.Name, c.Image, want)
			}
		}
	}
}

// TestEveryImageOverridable: every image the chart can run comes from a
// value, so a cluster without access to registry.k8s.io (or a test VM
// with images imported by hand) can point each at its own copy.
func TestEveryImageOverridable(t *testing.T) {
	const mirror = "mirror.example.org/"
	args := append([]string{"--values", ciValues("thin-values.yaml")}, sidecarModes...)
	args = append(args, snapshotAPIs...)
	args = append(args, "--set", "image.repository="+mirror+"lvm-iscsi-csi", "--set", "image.tag=test")
	for _, s := range []string{"provisioner", "attacher", "resizer", "snapshotter", "livenessProbe", "nodeDriverRegistrar"} {
		args = append(args, "--set", "sidecars."+s+".image="+mirror+s+":test")
	}
	r := helmTemplate(t, "lvm-iscsi-csi", "kube-system", args...)
	n := 0
	for _, kind := range []string{"Deployment", "DaemonSet"} {
		_, w := onlyWorkload(t, r, kind)
		for _, c := range w.Spec.Template.Spec.Containers {
			n++
			if !strings.HasPrefix(c.Image, mirror) {
				t.Errorf("%s/%s runs %s, which no value replaced", kind, c.Name, c.Image)
			}
		}
	}
	// driver, tgtd, 4 controller sidecars, liveness-probe twice, driver, registrar
	if n != 10 {
		t.Errorf("%d containers rendered, want all 10 the chart can run", n)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
