package lvmfake

import (
	"context"
	"errors"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// RemoveLVListed trusts the listing, as pkg/lvm does: dependents in it are
// refused, and one made after it goes along with its origin (lvremove -y).
func TestFakeRemoveLVListed(t *testing.T) {
	ctx := context.Background()
	f := New("vg", 100*mib, 4*mib)
	if _, err := f.CreateLV(ctx, "vg", lvm.CreateOptions{Name: "thick", Size: 8 * mib}); err != nil {
		t.Fatal(err)
	}
	before, _ := f.ListLVs(ctx, "vg")
	if _, err := f.CreateSnapshot(ctx, "vg", "thick", lvm.CreateOptions{Name: "cow", Size: 8 * mib}); err != nil {
		t.Fatal(err)
	}
	after, _ := f.ListLVs(ctx, "vg")
	if err := f.RemoveLVListed(ctx, "vg", "thick", after); !errors.Is(err, lvm.ErrHasDependents) {
		t.Fatalf("RemoveLVListed with the snapshot listed = %v, want ErrHasDependents", err)
	}
	if err := f.RemoveLVListed(ctx, "vg", "thick", before); err != nil {
		t.Fatalf("RemoveLVListed with a listing from before the snapshot = %v", err)
	}
	if lvs, _ := f.ListLVs(ctx, "vg"); len(lvs) != 0 {
		t.Fatalf("left %v; lvremove -y takes the snapshot along", lvs)
	}
	if err := f.RemoveLVListed(ctx, "vg", "thick", before); !errors.Is(err, lvm.ErrNotFound) {
		t.Fatalf("RemoveLVListed of a removed LV = %v, want ErrNotFound", err)
	}
}

// A thin snapshot made without the activation skip flag is active.
func TestFakeThinSnapshotWithoutActivationSkip(t *testing.T) {
	ctx := context.Background()
	f := New("vg", 100*mib, 4*mib)
	if err := f.AddThinPool("pool", 64*mib); err != nil {
		t.Fatal(err)
	}
	if _, err := f.CreateLV(ctx, "vg", lvm.CreateOptions{Name: "thin", Size: 8 * mib, ThinPool: "pool"}); err != nil {
		t.Fatal(err)
	}
	skip, _ := f.CreateSnapshot(ctx, "vg", "thin", lvm.CreateOptions{Name: "snap"})
	clone, err := f.CreateSnapshot(ctx, "vg", "thin", lvm.CreateOptions{Name: "clone", NoActivationSkip: true})
	if err != nil {
		t.Fatal(err)
	}
	if skip.Active || !clone.Active || !clone.IsThinVolume() || clone.Attr[9] == 'k' {
		t.Fatalf("snapshot %+v, clone %+v: want the clone active without the skip flag", skip, clone)
	}
}
