package lvm

import (
	"context"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

func TestGlobalFilterIsPassedToEveryCommand(t *testing.T) {
	const cfg = `devices { global_filter = [ "r|^/dev/disk/by-path/.*-iscsi-.*|", "a|.*|" ] }`
	fake := runnertest.NewFake(t,
		runnertest.Call{Argv: []string{"lvchange", "--config", cfg, "-ay", "-K", "vg0/lv0"}},
		runnertest.Call{Argv: []string{"lvremove", "--config", cfg, "-y", "vg0/lv0"}, Stderr: `Failed to find logical volume "vg0/lv0"`, ExitCode: 5},
	)
	l := New(runner.New(fake, 0), 1, WithGlobalFilter("r|^/dev/disk/by-path/.*-iscsi-.*|", "a|.*|"))
	if err := l.Activate(context.Background(), "vg0", "lv0"); err != nil {
		t.Fatal(err)
	}
	// RemoveLV reads the VG first in the real flow; call the runner path
	// directly to see the filter on a failing command too.
	if _, err := l.run(context.Background(), "remove", "lvremove", "-y", "vg0/lv0"); err == nil {
		t.Fatal("expected the scripted failure")
	}
}

func TestNoFilterLeavesLVMConfAlone(t *testing.T) {
	fake := runnertest.NewFake(t, runnertest.Call{Argv: []string{"lvchange", "-ay", "-K", "vg0/lv0"}})
	if err := New(runner.New(fake, 0), 1, WithGlobalFilter()).Activate(context.Background(), "vg0", "lv0"); err != nil {
		t.Fatal(err)
	}
}
