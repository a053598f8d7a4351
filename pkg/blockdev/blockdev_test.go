package blockdev

import (
	"context"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

func TestZeroRunsBlkdiscardZeroout(t *testing.T) {
	fake := runnertest.NewFake(t, runnertest.Call{Argv: runnertest.Argv("blkdiscard --zeroout /dev/vg/csi-1")})
	if err := New(runner.New(fake, 0)).Zero(context.Background(), "/dev/vg/csi-1"); err != nil {
		t.Fatal(err)
	}
}

func TestZeroReportsFailure(t *testing.T) {
	fake := runnertest.NewFake(t, runnertest.Call{Argv: runnertest.Argv("blkdiscard --zeroout /dev/vg/x"), Stderr: "blkdiscard: cannot open /dev/vg/x: No such file or directory", ExitCode: 1})
	if err := New(runner.New(fake, 0)).Zero(context.Background(), "/dev/vg/x"); err == nil || runner.ExitCode(err) != 1 {
		t.Fatalf("Zero = %v, want exit code 1", err)
	}
}

func TestZeroRefusesNonDevicePaths(t *testing.T) {
	fake := runnertest.NewFake(t) // no command may run
	if err := New(runner.New(fake, 0)).Zero(context.Background(), "/etc/passwd"); err == nil {
		t.Fatal("zeroing /etc/passwd was not refused")
	}
}
