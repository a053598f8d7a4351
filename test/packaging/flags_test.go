package packaging

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// helpFlag matches a flag line of Go's flag package usage output.
var helpFlag = regexp.MustCompile(`(?m)^  -([A-Za-z0-9_-]+)`)

// driverFlags returns the flags the driver binary knows, from its --help:
// LVM_ISCSI_CSI_BINARY when set, else a fresh build of cmd/lvm-iscsi-csi.
func driverFlags(t *testing.T) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := os.Getenv("LVM_ISCSI_CSI_BINARY")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "lvm-iscsi-csi")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "../../cmd/lvm-iscsi-csi").CombinedOutput(); err != nil {
			t.Fatalf("building the driver: %v\n%s", err, out)
		}
	}
	// The usage text goes to stderr; the exit code is not what this is about.
	out, _ := exec.CommandContext(ctx, bin, "--help").CombinedOutput()
	text := string(out)
	flags := map[string]bool{}
	for _, m := range helpFlag.FindAllStringSubmatch(text, -1) {
		flags[m[1]] = true
	}
	if !flags["mode"] || !flags["endpoint"] {
		t.Fatalf("%s --help lists no --mode or --endpoint:\n%s", bin, text)
	}
	return flags
}

// TestDriverFlagsExist: every flag the chart passes the driver, in either
// mode, is one the binary defines (a renamed flag would crash-loop the pods).
func TestDriverFlagsExist(t *testing.T) {
	known := driverFlags(t)
	forEachRender(t, func(t *testing.T, r render) {
		for kind, name := range map[string]string{"Deployment": "lvm-iscsi-csi", "DaemonSet": "lvm-iscsi-csi"} {
			_, w := onlyWorkload(t, r, kind)
			c := w.Spec.Template.Spec.container(t, name)
			for _, a := range c.Args {
				f, ok := strings.CutPrefix(a, "--")
				if !ok {
					t.Errorf("%s: argument %q is not a --flag", kind, a)
					continue
				}
				f, _, _ = strings.Cut(f, "=")
				if !known[f] {
					t.Errorf("%s: the driver has no flag --%s", kind, f)
				}
			}
		}
	})
}
