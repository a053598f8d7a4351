package boundexec

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/mount-utils"
	utilexec "k8s.io/utils/exec"
	testingexec "k8s.io/utils/exec/testing"
)

// scriptedExec answers each command with the next of outs/exits and
// records the argv lists.
type scriptedExec struct {
	fake  *testingexec.FakeExec
	argvs [][]string
}

type answer struct {
	out  string
	exit int
}

func newScriptedExec(answers ...answer) *scriptedExec {
	s := &scriptedExec{fake: &testingexec.FakeExec{}}
	for _, a := range answers {
		s.fake.CommandScript = append(s.fake.CommandScript, func(cmd string, args ...string) utilexec.Cmd {
			s.argvs = append(s.argvs, append([]string{cmd}, args...))
			var err error
			if a.exit != 0 {
				err = testingexec.FakeExitError{Status: a.exit}
			}
			return testingexec.InitFakeCmd(&testingexec.FakeCmd{
				CombinedOutputScript: []testingexec.FakeAction{func() ([]byte, []byte, error) { return []byte(a.out), nil, err }},
			}, cmd, args...)
		})
	}
	return s
}

func TestMounterRunsMountAndUmount(t *testing.T) {
	ex := newScriptedExec(answer{}, answer{})
	m := NewMounter(mount.NewFakeMounter(nil), New(ex.fake, time.Minute))
	if err := m.MountSensitive("/dev/sdb", "/stage", "xfs", []string{"defaults", "nouuid"}, []string{"secret"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Unmount("/stage"); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"mount", "-t", "xfs", "-o", "defaults,nouuid,secret", "/dev/sdb", "/stage"},
		{"umount", "/stage"},
	}
	if !slices.EqualFunc(ex.argvs, want, slices.Equal) {
		t.Errorf("commands %q, want %q", ex.argvs, want)
	}
}

// A bind mount is mount --bind, then a remount with the asked options and
// the flags of the source's mount.
func TestMounterBindMountsInTwoSteps(t *testing.T) {
	ex := newScriptedExec(answer{}, answer{})
	m := NewMounter(mount.NewFakeMounter(nil), New(ex.fake, time.Minute))
	src := t.TempDir()
	if err := m.Mount(src, "/target", "", []string{"bind", "ro"}); err != nil {
		t.Fatal(err)
	}
	if len(ex.argvs) != 2 {
		t.Fatalf("commands %q, want a bind and a remount", ex.argvs)
	}
	if got := ex.argvs[0]; !slices.Equal(got, []string{"mount", "-o", "bind", src, "/target"}) {
		t.Errorf("bind %q", got)
	}
	remount := ex.argvs[1]
	if len(remount) != 5 || remount[1] != "-o" || !strings.HasPrefix(remount[2], "bind,remount,ro") || remount[3] != src {
		t.Errorf("remount %q, want mount -o bind,remount,ro[,inherited flags] %s /target", remount, src)
	}
}

func TestMounterErrors(t *testing.T) {
	ex := newScriptedExec(
		answer{out: "mount: /stage: wrong fs type, bad option, bad superblock on /dev/sdb.", exit: 32},
		answer{out: "umount: /stage: not mounted.", exit: 32},
		answer{out: "umount: /stage: target is busy.", exit: 32},
	)
	m := NewMounter(mount.NewFakeMounter(nil), New(ex.fake, time.Minute))
	err := m.Mount("/dev/sdb", "/stage", "ext4", nil)
	if err == nil || !strings.Contains(err.Error(), "bad superblock") {
		t.Errorf("mount error %v, want the tool's message", err)
	}
	if err := m.Unmount("/stage"); err != nil {
		t.Errorf("unmounting what is not mounted: %v, want success", err)
	}
	if err := m.Unmount("/stage"); err == nil || !strings.Contains(err.Error(), "target is busy") {
		t.Errorf("busy unmount: %v, want the tool's message", err)
	}
}

// A umount blocked on a dead disk answers at the deadline, with an error
// that says so (and maps to DeadlineExceeded in pkg/driver).
func TestMounterUnmountIsBounded(t *testing.T) {
	stuck := stuckExec{release: make(chan struct{})}
	defer close(stuck.release)
	m := NewMounter(mount.NewFakeMounter(nil), New(stuck, 100*time.Millisecond).WithGrace(100*time.Millisecond))
	start := time.Now()
	err := m.Unmount("/stage")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("after %v: %v, want a DeadlineExceeded at the bound", time.Since(start), err)
	}
}
