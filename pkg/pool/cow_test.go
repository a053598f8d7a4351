package pool

import (
	"errors"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// A copy-on-write snapshot as large as its origin overflows, and the kernel
// drops it, once every block of the origin has been rewritten (seen in the
// real-kernel runs: "snapshot Invalid" after a full rewrite). Thick
// snapshots and clones' scratch snapshots get lvm's maximum usable size.
func TestCOWSnapshotsHaveRoomForTheWholeOrigin(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "thick", 64*mib, Thick)
	s, err := e.pool.CreateSnapshot(e.ctx, "s", v.ID)
	if err != nil {
		t.Fatal(err)
	}
	lv, err := e.lvm.GetLV(e.ctx, testVG, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if lv.Size < lvm.COWSize(v.Size) {
		t.Fatalf("COW snapshot of a %d-byte volume is %d bytes, less than the %d it needs to never fill up", v.Size, lv.Size, lvm.COWSize(v.Size))
	}
	if s.Size != v.Size {
		t.Fatalf("the snapshot reports %d bytes, want its source's %d", s.Size, v.Size)
	}
}

// A snapshot the kernel invalidated is reported as not usable, and a
// restore from it is refused with an error that says so, instead of a
// volume full of garbage.
func TestInvalidSnapshotIsNotUsable(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "thick", 64*mib, Thick)
	s, err := e.pool.CreateSnapshot(e.ctx, "s", v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.Invalid {
		t.Fatal("a new snapshot is reported invalid")
	}
	if err := e.lvm.InvalidateSnapshot(s.ID); err != nil {
		t.Fatal(err)
	}
	got, err := e.pool.GetSnapshot(e.ctx, s.ID)
	if err != nil || !got.Invalid {
		t.Fatalf("GetSnapshot of an invalidated snapshot = %+v, %v; want Invalid", got, err)
	}
	_, err = e.pool.Create(e.ctx, CreateRequest{Name: "restore", Provisioning: Thick, SourceSnapshot: s.ID})
	if !errors.Is(err, ErrSnapshotInvalid) {
		t.Fatalf("restore from an invalid snapshot = %v, want ErrSnapshotInvalid", err)
	}
	if _, err := e.lvm.GetLV(e.ctx, testVG, VolumeID("restore")); err == nil {
		t.Fatal("a refused restore left an LV behind")
	}
	if err := e.pool.DeleteSnapshot(e.ctx, s.ID); err != nil {
		t.Fatalf("an invalid snapshot must still be deletable: %v", err)
	}
}
