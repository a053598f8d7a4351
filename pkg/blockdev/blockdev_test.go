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

func TestZeroRange(t *testing.T) {
	fake := runnertest.NewFake(t, runnertest.Call{Argv: runnertest.Argv("blkdiscard --zeroout --offset 4194304 --length 1048576 /dev/vg/csi-1")})
	b := New(runner.New(fake, 0))
	if err := b.ZeroRange(context.Background(), "/dev/vg/csi-1", 4<<20, 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := b.ZeroRange(context.Background(), "/dev/vg/csi-1", 0, 0); err != nil {
		t.Fatalf("empty range: %v", err)
	}
	if err := b.ZeroRange(context.Background(), "/dev/vg/csi-1", 1, 512); err == nil {
		t.Fatal("unaligned offset accepted")
	}
}

func TestCopy(t *testing.T) {
	fake := runnertest.NewFake(t,
		runnertest.Call{Argv: runnertest.Argv("dd if=/dev/vg/a of=/dev/vg/b bs=1M count=8 iflag=direct oflag=direct conv=fsync,notrunc status=none")},
		runnertest.Call{Argv: runnertest.Argv("dd if=/dev/vg/a of=/dev/vg/c bs=1M count=8 iflag=direct oflag=direct conv=fsync,notrunc,sparse status=none")},
	)
	b := New(runner.New(fake, 0))
	if err := b.Copy(context.Background(), "/dev/vg/a", "/dev/vg/b", 8<<20, false); err != nil {
		t.Fatal(err)
	}
	if err := b.Copy(context.Background(), "/dev/vg/a", "/dev/vg/c", 8<<20, true); err != nil {
		t.Fatal(err)
	}
	if err := b.Copy(context.Background(), "/dev/vg/a", "/etc/passwd", 8<<20, false); err == nil {
		t.Fatal("copy onto a non-device path accepted")
	}
	if err := b.Copy(context.Background(), "/dev/vg/a", "/dev/vg/b", 8<<20+1, false); err == nil {
		t.Fatal("size not a multiple of the block accepted")
	}
}
