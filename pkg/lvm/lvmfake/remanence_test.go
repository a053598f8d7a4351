package lvmfake

import (
	"errors"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// SplitSnapshot leaves what testdata/lvs-after-split shows: the snapshot's
// name, tags and size as a plain LV, its extents still taken, and the
// origin a plain LV again once its last COW snapshot is split off.
func TestFakeSplitSnapshot(t *testing.T) {
	f := newRecordedScene(t)
	before, _ := f.GetVG(ctx, "csivg")
	cow1, _ := f.GetLV(ctx, "csivg", "cow1")
	for _, name := range []string{"cow1", "cow2"} {
		if err := f.SplitSnapshot(ctx, "csivg", name); err != nil {
			t.Fatalf("SplitSnapshot(%s) = %v", name, err)
		}
	}
	split, _ := f.GetLV(ctx, "csivg", "cow1")
	want := recordedReport(t, "lvs-after-split")[0]
	if split.Attr != want["lv_attr"] || split.Origin != want["origin"] || split.IsCOWSnapshot() || !split.Active {
		t.Errorf("split LV = %+v; lvm had attr %q origin %q", split, want["lv_attr"], want["origin"])
	}
	if split.Size != cow1.Size || len(split.Tags) != len(cow1.Tags) {
		t.Errorf("split LV size %d tags %v, was %d %v", split.Size, split.Tags, cow1.Size, cow1.Tags)
	}
	if after, _ := f.GetVG(ctx, "csivg"); after.Free != before.Free {
		t.Errorf("splitting freed space: %d -> %d", before.Free, after.Free)
	}
	if origin, _ := f.GetLV(ctx, "csivg", "thick1"); origin.Attr != "-wi-a-----" {
		t.Errorf("origin without snapshots: attr %q", origin.Attr)
	}
	// Split again, or not a snapshot at all: testdata/lvconvert-splitsnapshot-linear.
	for _, name := range []string{"cow1", "foreign", "thin1"} {
		if err := f.SplitSnapshot(ctx, "csivg", name); !errors.Is(err, lvm.ErrInvalid) {
			t.Errorf("SplitSnapshot(%s) = %v, want ErrInvalid", name, err)
		}
	}
	if err := f.SplitSnapshot(ctx, "csivg", "nosuch"); !errors.Is(err, lvm.ErrNotFound) {
		t.Errorf("SplitSnapshot(nosuch) = %v, want ErrNotFound", err)
	}
}

// A pool without zeroing shows it in lv_attr, on its thin LVs too, as in
// testdata/lvs-pool-nozero and lvs-pool-zero-fixed.
func TestFakeThinPoolZeroing(t *testing.T) {
	f := newRecordedScene(t)
	pool, _ := f.GetLV(ctx, "csivg", "pool")
	if !pool.ZeroesNewBlocks() {
		t.Fatalf("a default pool does not zero: %q", pool.Attr)
	}
	if err := f.SetThinPoolZeroing("pool", false); err != nil {
		t.Fatal(err)
	}
	if err := create(f, lvm.CreateOptions{Name: "t9", Size: mib, ThinPool: "pool"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pool", "thin1", "t9"} {
		if lv, _ := f.GetLV(ctx, "csivg", name); lv.ZeroesNewBlocks() {
			t.Errorf("%s zeroes after zeroing was turned off: %q", name, lv.Attr)
		}
	}
	// The zero letter is the 8th; the 6th ("open") differs, as the recorded
	// pool had no thin LV.
	if pool, _ := f.GetLV(ctx, "csivg", "pool"); pool.Attr[7] != recordedReport(t, "lvs-pool-nozero")[0]["lv_attr"][7] {
		t.Errorf("pool attr %q, lvm had %q", pool.Attr, recordedReport(t, "lvs-pool-nozero")[0]["lv_attr"])
	}
	if err := f.SetThinPoolZeroing("pool", true); err != nil {
		t.Fatal(err)
	}
	if lv, _ := f.GetLV(ctx, "csivg", "t9"); !lv.ZeroesNewBlocks() {
		t.Errorf("t9 after lvchange -Z y: %q", lv.Attr)
	}
	if err := f.SetThinPoolZeroing("thick1", false); !errors.Is(err, lvm.ErrNotFound) {
		t.Errorf("SetThinPoolZeroing(thick1) = %v", err)
	}
}
