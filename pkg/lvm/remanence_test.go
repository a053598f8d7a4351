package lvm

import (
	"context"
	"errors"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

func TestSplitSnapshot(t *testing.T) {
	for _, tc := range []struct {
		recording, name string
		want            error
	}{
		{"lvconvert-splitsnapshot", "splitcow", nil},
		// The snapshot device is open (a copy still reads it).
		{"lvconvert-splitsnapshot-inuse", "splitcow", ErrInUse},
		// Split already: a plain linear LV.
		{"lvconvert-splitsnapshot-linear", "splitcow", ErrInvalid},
		{"lvconvert-splitsnapshot-missing", "nosuch", ErrNotFound},
	} {
		argv := runnertest.Argv("lvconvert -y --splitsnapshot csivg/" + tc.name)
		l := newTestLVM(t, recorded(t, tc.recording, argv...))
		err := l.SplitSnapshot(context.Background(), "csivg", tc.name)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: SplitSnapshot = %v, want %v", tc.recording, err, tc.want)
		}
	}
	if err := newTestLVM(t).SplitSnapshot(context.Background(), "csivg", "-bad"); !errors.Is(err, ErrInvalid) {
		t.Errorf("SplitSnapshot(bad name) = %v, want ErrInvalid without running lvconvert", err)
	}
}

// The split leaves a plain LV with the snapshot's name and tags
// (testdata/lvs-after-split), which the driver then wipes and removes.
func TestSplitSnapshotKeepsNameAndTags(t *testing.T) {
	l := newTestLVM(t, recorded(t, "lvs-after-split", lvsArgv("csivg/splitcow")...))
	lv, err := l.GetLV(context.Background(), "csivg", "splitcow")
	if err != nil {
		t.Fatal(err)
	}
	if lv.IsCOWSnapshot() || lv.Origin != "" || lv.IsThinVolume() || !lv.Active || len(lv.Tags) != 2 || lv.Tags[1] != "lic.v1" {
		t.Errorf("split LV = %+v", lv)
	}
}

// Zeroing of new thin blocks, read from lv_attr: a pool made with -Zn, the
// same pool after lvchange -Z y, and lvm's default (testdata/lvs-all).
func TestZeroesNewBlocks(t *testing.T) {
	for _, tc := range []struct {
		recording, target, name string
		want                    bool
	}{
		{"lvs-pool-nozero", "csivg/poolnz", "poolnz", false},
		{"lvs-pool-zero-fixed", "csivg/poolnz", "poolnz", true},
		{"lvs-created-thin", "csivg/thin1", "thin1", true},
	} {
		l := newTestLVM(t, recorded(t, tc.recording, lvsArgv(tc.target)...))
		lv, err := l.GetLV(context.Background(), "csivg", tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := lv.ZeroesNewBlocks(); got != tc.want {
			t.Errorf("%s: %s (attr %q) ZeroesNewBlocks = %v, want %v", tc.recording, tc.name, lv.Attr, got, tc.want)
		}
	}
	l := newTestLVM(t, recorded(t, "lvs-all", lvsArgv("csivg")...))
	lvs, err := l.ListLVs(context.Background(), "csivg")
	if err != nil {
		t.Fatal(err)
	}
	for _, lv := range lvs {
		if want := lv.Name == "pool" || lv.PoolLV == "pool"; lv.ZeroesNewBlocks() != want {
			t.Errorf("lvs-all: %s (attr %q) ZeroesNewBlocks = %v, want %v", lv.Name, lv.Attr, lv.ZeroesNewBlocks(), want)
		}
	}
}
