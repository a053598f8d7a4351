package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/driver"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
)

const root = "../.."

// TestGeneratedFilesAreUpToDate fails when pkg/driver/parameters.go changed
// and the docs table or the chart schema were not regenerated.
func TestGeneratedFilesAreUpToDate(t *testing.T) {
	stale, err := run(root, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range stale {
		t.Errorf("%s is out of date with pkg/driver/parameters.go: run `go run ./hack/gen-parameters` (make generate)", f)
	}
}

// The generator rewrites the whole schema file: everything it does not
// generate must come out byte for byte as it went in.
func TestSchemaRoundTrips(t *testing.T) {
	old, err := os.ReadFile(filepath.Join(root, schemaFile))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := parseJSON(old)
	if err != nil {
		t.Fatal(err)
	}
	var b, out bytes.Buffer
	doc.write(&b)
	if err := indent(&out, b.Bytes()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), old) {
		t.Error("parsing and writing the schema changes it")
	}
}

func TestGenDocsNeedsItsMarkers(t *testing.T) {
	if _, err := genDocs([]byte("# no markers\n")); err == nil {
		t.Error("a file without the markers was accepted")
	}
	got, err := genDocs([]byte("before\n" + beginMarker + "\nstale\n" + endMarker + "\nafter\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	if !strings.HasPrefix(s, "before\n"+beginMarker+"\n| parameter |") || !strings.HasSuffix(s, "|\n"+endMarker+"\nafter\n") || strings.Contains(s, "stale") {
		t.Errorf("genDocs wrote\n%s", s)
	}
	for _, p := range driver.ParameterTable() {
		if !strings.Contains(s, "| `"+p.Key+"` |") {
			t.Errorf("no row for %s", p.Key)
		}
	}
}

// Every hand-written list of parameters in the repository is one the
// driver accepts: the chart's values files (defaults, CI cases, the values
// deploy/kubernetes is rendered from) and csi-sanity's.
func TestParameterListsParse(t *testing.T) {
	env := driver.ParameterEnv{DefaultProvisioning: pool.Thin}
	files, err := filepath.Glob(filepath.Join(root, "charts/lvm-iscsi-csi/ci/*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(root, "charts/lvm-iscsi-csi/values.yaml"), filepath.Join(root, "deploy/kubernetes/values.yaml"))
	classes := 0
	for _, f := range files {
		var values struct {
			StorageClasses []struct {
				Name         string            `yaml:"name"`
				Provisioning string            `yaml:"provisioning"`
				Parameters   map[string]string `yaml:"parameters"`
			} `yaml:"storageClasses"`
		}
		readYAML(t, f, &values)
		for _, sc := range values.StorageClasses {
			classes++
			params := map[string]string{}
			for k, v := range sc.Parameters {
				if v != "" { // "": the default; the chart leaves the key out
					params[k] = v
				}
			}
			if sc.Provisioning != "" {
				params["provisioning"] = sc.Provisioning
			}
			if _, err := driver.ParseParameters(params, env); err != nil {
				t.Errorf("%s: class %s: %v", f, sc.Name, err)
			}
		}
	}
	if classes == 0 {
		t.Error("no storageClasses found in the chart's values files")
	}
	var sanity map[string]string
	readYAML(t, filepath.Join(root, "test/sanity/volume-parameters.yaml"), &sanity)
	if _, err := driver.ParseParameters(sanity, env); err != nil {
		t.Errorf("test/sanity/volume-parameters.yaml: %v", err)
	}
}

func readYAML(t *testing.T, path string, out any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
