package lvm

import (
	"context"
	"errors"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

// listing is the VG as the recording lvs-all shows it, the way a caller's
// own ListLVs would have returned it.
func listing(t *testing.T, recording string) []LV {
	t.Helper()
	lvs, err := parseLVs([]byte(readRecording(t, recording, "stdout")))
	if err != nil {
		t.Fatal(err)
	}
	return lvs
}

// RemoveLVListed runs lvremove alone: the dependents are checked in the
// caller's listing, so no lvs of its own precedes it (the scripted runner
// fails the test on any command not listed).
func TestRemoveLVListedRunsOnlyLvremove(t *testing.T) {
	lvs := listing(t, "lvs-all")
	for _, tc := range []struct{ name, recording string }{
		{"foreign", "lvremove-thick"},
		{"thin1", "lvremove-thin-origin"}, // its thin snapshot is no dependent
	} {
		l := newTestLVM(t, recorded(t, tc.recording, "lvremove", "-y", "csivg/"+tc.name))
		if err := l.RemoveLVListed(context.Background(), "csivg", tc.name, lvs); err != nil {
			t.Errorf("RemoveLVListed(%s) = %v", tc.name, err)
		}
	}
}

// The listing still keeps lvremove -y from taking a COW origin's snapshots
// or a pool's thin volumes along, and an LV the listing lacks is gone.
func TestRemoveLVListedChecksTheListing(t *testing.T) {
	lvs := listing(t, "lvs-all")
	for _, name := range []string{"thick1", "pool"} {
		l := newTestLVM(t)
		if err := l.RemoveLVListed(context.Background(), "csivg", name, lvs); !errors.Is(err, ErrHasDependents) {
			t.Errorf("RemoveLVListed(%s) = %v, want ErrHasDependents", name, err)
		}
	}
	if err := newTestLVM(t).RemoveLVListed(context.Background(), "csivg", "nosuch", lvs); !errors.Is(err, ErrNotFound) {
		t.Errorf("RemoveLVListed(not listed) = %v, want ErrNotFound", err)
	}
	if err := newTestLVM(t).RemoveLVListed(context.Background(), "csivg", "bad name", lvs); !errors.Is(err, ErrInvalid) {
		t.Errorf("RemoveLVListed(bad name) = %v, want ErrInvalid", err)
	}
}

// An LV held open (tgtd's LUN, a mount) is retried like RemoveLV's, then
// ErrInUse.
func TestRemoveLVListedGivesUpWhileOpen(t *testing.T) {
	lvs := listing(t, "lvs-after-removals")
	var calls []runnertest.Call
	for range 4 { // the first attempt and newTestLVM's three retries
		calls = append(calls, recorded(t, "lvremove-mounted", "lvremove", "-y", "csivg/mounted"))
	}
	l := newTestLVM(t, calls...)
	if err := l.RemoveLVListed(context.Background(), "csivg", "mounted", lvs); !errors.Is(err, ErrInUse) {
		t.Errorf("RemoveLVListed(always busy) = %v, want ErrInUse", err)
	}
}
