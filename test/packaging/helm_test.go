package packaging

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// chartDir is the chart under test.
var chartDir = filepath.Join("..", "..", "charts", "lvm-iscsi-csi")

// helmBinary returns LVM_ISCSI_CSI_HELM, else helm from PATH. Without one
// the test is skipped, except under hack/verify-packaging.sh (which sets
// LVM_ISCSI_CSI_RENDER_DIR and hands over its helm): there it fails.
func helmBinary(t *testing.T) string {
	t.Helper()
	if h := os.Getenv("LVM_ISCSI_CSI_HELM"); h != "" {
		return h
	}
	if h, err := exec.LookPath("helm"); err == nil {
		return h
	}
	if os.Getenv("LVM_ISCSI_CSI_RENDER_DIR") != "" {
		t.Fatal("no helm: set LVM_ISCSI_CSI_HELM")
	}
	t.Skip("no helm in PATH (set LVM_ISCSI_CSI_HELM; make packaging does)")
	return ""
}

// helmTemplate renders the chart as release in namespace, with the extra
// helm arguments (--values, --set, --api-versions), as a user would.
func helmTemplate(t *testing.T, release, namespace string, args ...string) render {
	t.Helper()
	out, err := helmRun(t, release, namespace, args...)
	if err != nil {
		t.Fatalf("helm template %v: %v", args, err)
	}
	objs, err := parseObjects(out)
	if err != nil {
		t.Fatalf("helm template %v: %v", args, err)
	}
	return render{path: release + " " + namespace, objects: objs}
}

// helmRun runs helm template and returns what it printed on stdout; the
// error carries stderr (helm's refusal of a value, for instance).
func helmRun(t *testing.T, release, namespace string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	argv := append([]string{"template", release, chartDir, "--namespace", namespace}, args...)
	cmd := exec.CommandContext(ctx, helmBinary(t), argv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%w: %s", err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// ciValues is the path of one of the chart's ci/*-values.yaml files.
func ciValues(name string) string {
	return filepath.Join(chartDir, "ci", name)
}
