//go:build !killpoints

package main

import (
	"os/exec"
	"strings"
	"testing"
)

const killpointPackage = "github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/killpoint"

// The production binary cannot kill itself: without the killpoints build
// tag it does not even link the injector. With the tag it does (the e2e
// harness's second binary), which shows the check looks at the right thing.
func TestProductionBuildHasNoKillPoints(t *testing.T) {
	deps := func(tags ...string) string {
		args := append([]string{"list", "-deps"}, tags...)
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list: %v\n%s", err, out)
		}
		return string(out)
	}
	if strings.Contains(deps(), killpointPackage) {
		t.Errorf("the production build links %s", killpointPackage)
	}
	if !strings.Contains(deps("-tags", "killpoints"), killpointPackage) {
		t.Errorf("the killpoints build does not link %s: the check above proves nothing", killpointPackage)
	}
}
