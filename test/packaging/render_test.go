// Package packaging checks rendered Kubernetes manifests of the Helm chart
// for what the API server's dry run cannot see: that the pods hand the driver
// flags it knows, that the node plugin's paths agree with kubelet's, that the
// controller sits on the storage host next to tgtd, and that every reference
// between objects resolves.
//
// By default it checks deploy/kubernetes/lvm-iscsi-csi.yaml; with
// LVM_ISCSI_CSI_RENDER_DIR it checks every *.yaml render in that directory
// (hack/verify-packaging.sh renders the chart with several values files).
package packaging

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

// object is one rendered Kubernetes object: its header, and the whole
// document for decoding the kind-specific parts.
type object struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	doc *yaml.Node
}

// render is one rendered manifest file.
type render struct {
	path    string
	objects []object
}

// renders loads the manifests under test.
func renders(t *testing.T) []render {
	t.Helper()
	paths := []string{filepath.Join("..", "..", "deploy", "kubernetes", "lvm-iscsi-csi.yaml")}
	if dir := os.Getenv("LVM_ISCSI_CSI_RENDER_DIR"); dir != "" {
		var err error
		paths, err = filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil || len(paths) == 0 {
			t.Fatalf("no *.yaml renders in LVM_ISCSI_CSI_RENDER_DIR=%s (%v)", dir, err)
		}
	}
	var out []render
	for _, p := range paths {
		out = append(out, loadRender(t, p))
	}
	return out
}

// deployRender loads deploy/kubernetes/lvm-iscsi-csi.yaml, the chart
// rendered with deploy/kubernetes/values.yaml (the chart's defaults plus
// an example storage host).
func deployRender(t *testing.T) render {
	t.Helper()
	return loadRender(t, filepath.Join("..", "..", "deploy", "kubernetes", "lvm-iscsi-csi.yaml"))
}

// loadRender reads one rendered manifest file.
func loadRender(t *testing.T, p string) render {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := parseObjects(data)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return render{path: p, objects: objs}
}

// parseObjects splits a multi-document YAML stream into objects, skipping
// empty documents (helm leaves them where a template renders nothing).
func parseObjects(data []byte) ([]object, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var objs []object
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		var o object
		if err := doc.Decode(&o); err != nil {
			return nil, err
		}
		if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
			return nil, errors.New("a document without apiVersion, kind or metadata.name")
		}
		o.doc = &doc
		objs = append(objs, o)
	}
}

// ofKind returns the render's objects of one kind.
func (r render) ofKind(kind string) []object {
	var out []object
	for _, o := range r.objects {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// has reports whether the render holds the named object.
func (r render) has(kind, namespace, name string) bool {
	for _, o := range r.objects {
		if o.Kind == kind && o.Metadata.Name == name && o.Metadata.Namespace == namespace {
			return true
		}
	}
	return false
}

// decode fills v from the whole object.
func (o object) decode(t *testing.T, v any) {
	t.Helper()
	if err := o.doc.Decode(v); err != nil {
		t.Fatalf("%s %s: %v", o.Kind, o.Metadata.Name, err)
	}
}

// forEachRender runs f as a subtest per render.
func forEachRender(t *testing.T, f func(t *testing.T, r render)) {
	for _, r := range renders(t) {
		t.Run(filepath.Base(r.path), func(t *testing.T) { f(t, r) })
	}
}
