package lvm

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

func TestRemoveLV(t *testing.T) {
	for _, tc := range []struct{ name, recording string }{
		{"foreign", "lvremove-thick"},
		{"cow2", "lvremove-cow-snapshot"},
		// A thin origin: its thin snapshot snap1 is no dependent.
		{"thin1", "lvremove-thin-origin"},
	} {
		l := newTestLVM(t,
			recorded(t, "lvs-all", lvsArgv("csivg")...),
			recorded(t, tc.recording, "lvremove", "-y", "csivg/"+tc.name),
		)
		if err := l.RemoveLV(context.Background(), "csivg", tc.name); err != nil {
			t.Errorf("RemoveLV(%s) = %v", tc.name, err)
		}
	}
}

func TestRemoveLVRefusesToTakeDependentsAlong(t *testing.T) {
	// lvremove -y would delete cow1 and cow2 with thick1
	// (testdata/lvremove-cow-origin-yes) and thin1 and snap1 with pool.
	for _, name := range []string{"thick1", "pool"} {
		l := newTestLVM(t, recorded(t, "lvs-all", lvsArgv("csivg")...))
		err := l.RemoveLV(context.Background(), "csivg", name)
		if !errors.Is(err, ErrHasDependents) || !errors.Is(err, ErrInUse) {
			t.Errorf("RemoveLV(%s) = %v, want ErrHasDependents", name, err)
		}
	}
}

func TestRemoveLVAlreadyGone(t *testing.T) {
	l := newTestLVM(t, recorded(t, "lvs-all", lvsArgv("csivg")...))
	if err := l.RemoveLV(context.Background(), "csivg", "nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RemoveLV(missing) = %v, want ErrNotFound", err)
	}
}

func TestRemoveLVMissingVGIsNotAlreadyGone(t *testing.T) {
	l := newTestLVM(t, recorded(t, "lvs-missing-vg", lvsArgv("nosuchvg")...))
	err := l.RemoveLV(context.Background(), "nosuchvg", "x")
	if !errors.Is(err, ErrVGNotFound) || errors.Is(err, ErrNotFound) {
		t.Errorf("RemoveLV(missing VG) = %v, want ErrVGNotFound only", err)
	}
}

func TestRemoveLVRetriesWhileOpen(t *testing.T) {
	inUse := recorded(t, "lvremove-inuse", "lvremove", "-y", "csivg/foreign")
	l := newTestLVM(t,
		recorded(t, "lvs-all", lvsArgv("csivg")...),
		inUse, inUse,
		recorded(t, "lvremove-thick", "lvremove", "-y", "csivg/foreign"),
	)
	if err := l.RemoveLV(context.Background(), "csivg", "foreign"); err != nil {
		t.Errorf("RemoveLV after two busy attempts = %v", err)
	}
}

func TestRemoveLVGivesUpWhileOpen(t *testing.T) {
	calls := []runnertest.Call{recorded(t, "lvs-after-removals", lvsArgv("csivg")...)}
	for range 4 { // the first attempt and newTestLVM's three retries
		calls = append(calls, recorded(t, "lvremove-mounted", "lvremove", "-y", "csivg/mounted"))
	}
	l := newTestLVM(t, calls...)
	err := l.RemoveLV(context.Background(), "csivg", "mounted")
	if !errors.Is(err, ErrInUse) || errors.Is(err, ErrHasDependents) {
		t.Errorf("RemoveLV(always busy) = %v, want ErrInUse", err)
	}
}

func TestSleepStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleep(cancelled) = %v", err)
	}
}
