package pool

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

func TestSnapshotsOfThinAndThickVolumes(t *testing.T) {
	e := newEnv(t, true)
	thin := e.create(t, "thin", 64*mib, Thin)
	thick := e.create(t, "thick", 64*mib, Thick)
	before := time.Now().Add(-time.Second)
	for _, v := range []Volume{thin, thick} {
		s, err := e.pool.CreateSnapshot(e.ctx, "snap-of-"+v.Name, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s.ID != SnapshotID("snap-of-"+v.Name) || s.SourceVolumeID != v.ID || s.Size != v.Size || s.CreatedAt.Before(before) {
			t.Fatalf("snapshot = %+v", s)
		}
		lv, _ := e.lvm.GetLV(e.ctx, testVG, s.ID)
		if got, _ := e.pool.GetSnapshot(e.ctx, s.ID); got.Size != v.Size {
			t.Fatalf("snapshot size %d, want its source's %d whatever the COW area", got.Size, v.Size)
		}
		if lv.Origin != v.ID {
			t.Fatalf("snapshot LV %+v is not a snapshot of %s", lv, v.ID)
		}
		if v.Provisioning == Thick && (!lv.IsCOWSnapshot() || lv.Size < v.Size) {
			t.Fatalf("thick snapshot %+v: want a COW snapshot as large as its origin", lv)
		}
		again, err := e.pool.CreateSnapshot(e.ctx, "snap-of-"+v.Name, v.ID)
		if err != nil || again.ID != s.ID {
			t.Fatalf("retry = %+v, %v", again, err)
		}
	}
	if _, err := e.pool.CreateSnapshot(e.ctx, "snap-of-thin", thick.ID); !errors.Is(err, ErrExists) {
		t.Fatalf("same name, other source = %v, want ErrExists", err)
	}
	if _, err := e.pool.CreateSnapshot(e.ctx, "x", VolumeID("missing")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("snapshot of a missing volume = %v, want ErrNotFound", err)
	}
	snaps, err := e.pool.ListSnapshots(e.ctx)
	if err != nil || len(snaps) != 2 {
		t.Fatalf("ListSnapshots = %+v, %v", snaps, err)
	}
	vols, _ := e.pool.List(e.ctx)
	if len(vols) != 2 {
		t.Fatalf("snapshots show up as volumes: %+v", vols)
	}
	// A thick volume with a snapshot can neither be deleted nor grown.
	if err := e.pool.Delete(e.ctx, thick.ID); !errors.Is(err, ErrHasSnapshots) {
		t.Fatalf("Delete of a thick origin = %v, want ErrHasSnapshots", err)
	}
	if _, err := e.pool.Get(e.ctx, thick.ID); err != nil {
		t.Fatalf("the refused delete changed the volume: %v", err)
	}
	if _, err := e.pool.Expand(e.ctx, thick.ID, 128*mib, 0); !errors.Is(err, ErrHasSnapshots) {
		t.Fatalf("Expand of a thick origin = %v, want ErrHasSnapshots", err)
	}
	// A thin origin goes; its snapshot stays usable.
	if err := e.pool.Delete(e.ctx, thin.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.GetSnapshot(e.ctx, SnapshotID("snap-of-thin")); err != nil {
		t.Fatalf("snapshot lost with its thin origin: %v", err)
	}
	for _, s := range snaps {
		for i := 0; i < 2; i++ {
			if err := e.pool.DeleteSnapshot(e.ctx, s.ID); err != nil {
				t.Fatalf("DeleteSnapshot(%s) #%d: %v", s.ID, i, err)
			}
		}
	}
	if err := e.pool.DeleteSnapshot(e.ctx, "not-a-snapshot-id"); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.Delete(e.ctx, thick.ID); err != nil {
		t.Fatalf("Delete once the snapshot is gone: %v", err)
	}
}

func TestSnapshotNeedsRoom(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "big", 6*gib, Thick)
	if _, err := e.pool.CreateSnapshot(e.ctx, "s", v.ID); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("COW snapshot without room = %v, want ErrNoSpace", err)
	}
}

func TestCloneThinFromSnapshotIsAThinSnapshot(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "src", 64*mib, Thin)
	s, _ := e.pool.CreateSnapshot(e.ctx, "s", v.ID)
	c, err := e.pool.Create(e.ctx, CreateRequest{Name: "clone", RequiredSize: 128 * mib, Provisioning: Thin, SourceSnapshot: s.ID})
	if err != nil {
		t.Fatal(err)
	}
	if c.Size != 128*mib || c.Source != s.ID {
		t.Fatalf("clone = %+v", c)
	}
	lv, _ := e.lvm.GetLV(e.ctx, testVG, c.ID)
	if lv.Origin != s.ID || !lv.Active || strings.Contains(strings.Join(lv.Tags, " "), stateCreate) {
		t.Fatalf("clone LV = %+v", lv)
	}
	if len(e.wiper.copies) != 0 {
		t.Fatalf("a thin clone copied data: %v", e.wiper.copies)
	}
	// Idempotent; a different source under the same name is a conflict.
	if again, err := e.pool.Create(e.ctx, CreateRequest{Name: "clone", RequiredSize: 128 * mib, Provisioning: Thin, SourceSnapshot: s.ID}); err != nil || again.ID != c.ID {
		t.Fatalf("retry = %+v, %v", again, err)
	}
	if _, err := e.pool.Create(e.ctx, CreateRequest{Name: "clone", RequiredSize: 128 * mib, Provisioning: Thin, SourceVolume: v.ID}); !errors.Is(err, ErrExists) {
		t.Fatalf("other source = %v, want ErrExists", err)
	}
	if _, err := e.pool.Create(e.ctx, CreateRequest{Name: "small", RequiredSize: mib, LimitSize: 32 * mib, Provisioning: Thin, SourceSnapshot: s.ID}); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("limit below the source = %v, want ErrOutOfRange", err)
	}
	if _, err := e.pool.Create(e.ctx, CreateRequest{Name: "nosrc", Provisioning: Thin, SourceSnapshot: SnapshotID("missing")}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing source = %v, want ErrNotFound", err)
	}
	// Deleting the snapshot leaves the clone.
	if err := e.pool.DeleteSnapshot(e.ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Get(e.ctx, c.ID); err != nil {
		t.Fatalf("clone lost with its snapshot: %v", err)
	}
}

func TestCloneThickVolumeCopiesFromAScratchSnapshot(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "src", 64*mib, Thick)
	c, err := e.pool.Create(e.ctx, CreateRequest{Name: "clone", RequiredSize: 96 * mib, Provisioning: Thick, SourceVolume: v.ID})
	if err != nil {
		t.Fatal(err)
	}
	scratch := "/dev/vg0/" + scratchName(c.ID)
	want := scratch + ">/dev/vg0/" + c.ID + ":67108864:false"
	if len(e.wiper.copies) != 1 || e.wiper.copies[0] != want {
		t.Fatalf("copies = %v, want [%s]", e.wiper.copies, want)
	}
	// The clone's tail beyond the source, then the scratch snapshot's COW
	// area (remanence_test.go).
	if want := []string{"/dev/vg0/" + c.ID + "@67108864+33554432", scratch}; !slices.Equal(e.wiper.zeroed, want) {
		t.Fatalf("zeroed %v, want %v", e.wiper.zeroed, want)
	}
	if _, err := e.lvm.GetLV(e.ctx, testVG, scratchName(c.ID)); !errors.Is(err, lvm.ErrNotFound) {
		t.Fatalf("scratch snapshot left: %v", err)
	}
	if c.Size != 96*mib || c.Source != v.ID {
		t.Fatalf("clone = %+v", c)
	}
}

func TestInterruptedCloneIsRemovedByReconcileAndRetried(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "src", 64*mib, Thick)
	e.wiper.fail = errors.New("I/O error")
	req := CreateRequest{Name: "clone", RequiredSize: 64 * mib, Provisioning: Thin, SourceVolume: v.ID}
	if _, err := e.pool.Create(e.ctx, req); err == nil {
		t.Fatal("clone succeeded although the copy failed")
	}
	id := VolumeID("clone")
	if _, err := e.pool.Get(e.ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a half-filled clone is visible: %v", err)
	}
	if _, err := e.lvm.GetLV(e.ctx, testVG, id); err != nil {
		t.Fatalf("expected the half-filled LV to remain for the retry: %v", err)
	}
	e.wiper.fail = nil // the leftovers are wiped before removal
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{id, scratchName(id)} {
		if _, err := e.lvm.GetLV(e.ctx, testVG, name); !errors.Is(err, lvm.ErrNotFound) {
			t.Fatalf("reconcile left %s: %v", name, err)
		}
	}
	c, err := e.pool.Create(e.ctx, req)
	if err != nil || c.ID != id {
		t.Fatalf("retry = %+v, %v", c, err)
	}
}

func TestCloneOutlivesTheCallThatStartedIt(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "src", 64*mib, Thick)
	block, entered := make(chan struct{}), make(chan struct{})
	e.pool.blocks = &blockingCopy{recordingWiper: e.wiper, release: block, entered: entered}
	ctx, cancel := context.WithCancel(e.ctx)
	cancel() // the CO's deadline passed before the copy could finish
	req := CreateRequest{Name: "clone", RequiredSize: 64 * mib, Provisioning: Thick, SourceVolume: v.ID}
	if _, err := e.pool.Create(ctx, req); !errors.Is(err, ErrInProgress) {
		t.Fatalf("Create with an expired context = %v, want ErrInProgress", err)
	}
	<-entered // the job goes on: it has created the LV and is copying
	if err := e.pool.Delete(e.ctx, VolumeID("clone")); !errors.Is(err, ErrInProgress) {
		t.Fatalf("Delete during the copy = %v, want ErrInProgress", err)
	}
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.lvm.GetLV(e.ctx, testVG, VolumeID("clone")); err != nil {
		t.Fatalf("reconcile removed a clone whose copy is running: %v", err)
	}
	close(block)
	c, err := e.pool.Create(e.ctx, req) // the retry waits for the same job
	if err != nil || c.ID != VolumeID("clone") {
		t.Fatalf("retry = %+v, %v", c, err)
	}
	if n := len(e.wiper.copies); n != 1 {
		t.Fatalf("%d copies, want the one job", n)
	}
}

type blockingCopy struct {
	*recordingWiper
	release, entered chan struct{}
}

func (b *blockingCopy) Copy(ctx context.Context, src, dst string, size uint64, sparse bool) error {
	close(b.entered)
	<-b.release
	return b.recordingWiper.Copy(ctx, src, dst, size, sparse)
}

func TestExpand(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "v", 64*mib, Thin)
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	calls := len(e.tgt.Calls())
	e.tgt.SetSize("/dev/vg0/"+v.ID, 100*mib) // what tgtd reads once the LV has grown
	size, err := e.pool.Expand(e.ctx, v.ID, 100*mib, 0)
	if err != nil || size != 100*mib {
		t.Fatalf("Expand = %d, %v", size, err)
	}
	refreshed := false
	for _, c := range e.tgt.Calls()[calls:] {
		if strings.HasPrefix(c, "RefreshLUN") {
			refreshed = true
		}
		if strings.HasPrefix(c, "DeleteLUN") || strings.HasPrefix(c, "DeleteTarget") || strings.HasPrefix(c, "CloseConnection") {
			t.Fatalf("expansion disturbed the export: %s", c)
		}
	}
	if !refreshed {
		t.Fatal("tgtd was not told the new size")
	}
	if size, err := e.pool.Expand(e.ctx, v.ID, 50*mib, 0); err != nil || size != 100*mib {
		t.Fatalf("smaller request = %d, %v; want the current size", size, err)
	}
	if _, err := e.pool.Expand(e.ctx, v.ID, 10*gib, 0); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("beyond the thin pool = %v, want ErrNoSpace", err)
	}
	if _, err := e.pool.Expand(e.ctx, v.ID, 101*mib, 102*mib); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("rounding past the limit = %v, want ErrOutOfRange", err)
	}
	if _, err := e.pool.Expand(e.ctx, VolumeID("nope"), mib, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown volume = %v", err)
	}
}

func TestReconcileRefreshesALUNSmallerThanItsLV(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "v", 64*mib, Thick)
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	// The LV grew but the controller crashed before telling tgtd.
	if err := e.lvm.ExtendLV(e.ctx, testVG, v.ID, 128*mib); err != nil {
		t.Fatal(err)
	}
	e.tgt.SetSize("/dev/vg0/"+v.ID, 128*mib)
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.target(t, v.ID).LUNs[0].Size; got != 128*mib {
		t.Fatalf("LUN size after reconcile = %d, want 128 MiB", got)
	}
}

func TestSnapshotCannotGoWhileARestoreReadsIt(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "src", 64*mib, Thick)
	s, err := e.pool.CreateSnapshot(e.ctx, "s", v.ID)
	if err != nil {
		t.Fatal(err)
	}
	block, entered := make(chan struct{}), make(chan struct{})
	e.pool.blocks = &blockingCopy{recordingWiper: e.wiper, release: block, entered: entered}
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	req := CreateRequest{Name: "restore", RequiredSize: 64 * mib, Provisioning: Thick, SourceSnapshot: s.ID}
	if _, err := e.pool.Create(ctx, req); !errors.Is(err, ErrInProgress) {
		t.Fatalf("Create = %v, want ErrInProgress", err)
	}
	<-entered
	if err := e.pool.DeleteSnapshot(e.ctx, s.ID); !errors.Is(err, ErrInProgress) {
		t.Fatalf("DeleteSnapshot during the restore = %v, want ErrInProgress", err)
	}
	close(block)
	r, err := e.pool.Create(e.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// The job lets go of the source when its function returns, a moment
	// after it wrote the volume's last tag: a retry that reads the VG in
	// that moment finds the volume whole and returns before the job has
	// ended, and a DeleteSnapshot then is still refused (retried by the CO).
	waitUntil(t, func() bool { return !e.pool.jobs.busy(r.ID) })
	if err := e.pool.DeleteSnapshot(e.ctx, s.ID); err != nil {
		t.Fatalf("DeleteSnapshot after the restore: %v", err)
	}
}

// A fill that finds its volume already filled (a retry whose report said
// "creating" just before the job before it finished) does nothing: it used
// to start the copy over in a volume that was complete.
func TestFillOfACompleteVolumeCopiesNothing(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "src", 64*mib, Thick)
	req := CreateRequest{Name: "clone", RequiredSize: 64 * mib, Provisioning: Thick, SourceVolume: v.ID}
	c, err := e.pool.Create(e.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	copies := len(e.wiper.copies)
	src, err := e.pool.resolveSource(e.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.pool.fill(e.ctx, req, src, c.ID, c.Size); err != nil {
		t.Fatal(err)
	}
	if n := len(e.wiper.copies); n != copies {
		t.Fatalf("a fill of the complete clone copied again (%d copies, want %d)", n, copies)
	}
	lv, err := e.lvm.GetLV(e.ctx, testVG, c.ID)
	if err != nil || parseTags(lv.Tags).creating {
		t.Fatalf("clone after the second fill: %+v, %v; want it complete", lv, err)
	}
}
