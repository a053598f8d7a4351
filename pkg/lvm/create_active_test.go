package lvm

import (
	"context"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

// A thin snapshot that is to be a volume of its own (a clone) is made
// without lvm's activation skip flag, so lvcreate activates it at once and
// no lvchange -ay -K follows. Not recorded yet (testdata/record.sh needs
// the real-kernel guest); the e2e clone tests run it against real lvm.
func TestCreateSnapshotWithoutActivationSkip(t *testing.T) {
	l := newTestLVM(t, runnertest.Call{Argv: runnertest.Argv("lvcreate -y -n clone1 -s --setactivationskip n csivg/thin1 --addtag lic.v1")})
	opts := CreateOptions{Name: "clone1", Tags: []string{"lic.v1"}, NoActivationSkip: true}
	if err := l.CreateSnapshotNoReport(context.Background(), "csivg", "thin1", opts); err != nil {
		t.Fatal(err)
	}
}
