package pool

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// scriptedWiper is the recording BlockDevices fake with failures per
// method and a hook that runs before each zeroing, to look at the world at
// that moment.
type scriptedWiper struct {
	*recordingWiper
	failCopy, failZero error
	beforeZero         func(dev string)
}

func (w *scriptedWiper) Zero(ctx context.Context, dev string) error {
	if w.beforeZero != nil {
		w.beforeZero(dev)
	}
	if w.failZero != nil {
		return w.failZero
	}
	return w.recordingWiper.Zero(ctx, dev)
}

func (w *scriptedWiper) ZeroRange(ctx context.Context, dev string, offset, length uint64) error {
	if w.beforeZero != nil {
		w.beforeZero(dev)
	}
	if w.failZero != nil {
		return w.failZero
	}
	return w.recordingWiper.ZeroRange(ctx, dev, offset, length)
}

func (w *scriptedWiper) Copy(ctx context.Context, src, dst string, size uint64, sparse bool) error {
	if w.failCopy != nil {
		return w.failCopy
	}
	return w.recordingWiper.Copy(ctx, src, dst, size, sparse)
}

func (e *env) script() *scriptedWiper {
	w := &scriptedWiper{recordingWiper: e.wiper}
	e.pool.blocks = w
	return w
}

func (e *env) gone(t *testing.T, name string) {
	t.Helper()
	if _, err := e.lvm.GetLV(e.ctx, testVG, name); !errors.Is(err, lvm.ErrNotFound) {
		t.Fatalf("LV %s still there: %v", name, err)
	}
}

func (e *env) tags(t *testing.T, name string) []string {
	t.Helper()
	lv, err := e.lvm.GetLV(e.ctx, testVG, name)
	if err != nil {
		t.Fatal(err)
	}
	return lv.Tags
}

// A thick snapshot's COW area holds the origin's old data: it is split off
// and zeroed before its extents go back to the VG. A thin snapshot's blocks
// go back to the zeroing thin pool.
func TestDeleteSnapshotWipesTheCOWArea(t *testing.T) {
	e := newEnv(t, true)
	thick := e.create(t, "thick", 64*mib, Thick)
	thin := e.create(t, "thin", 64*mib, Thin)
	var ids []string
	for _, v := range []Volume{thick, thin} {
		s, err := e.pool.CreateSnapshot(e.ctx, "s-"+v.Name, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	for _, id := range ids {
		if err := e.pool.DeleteSnapshot(e.ctx, id); err != nil {
			t.Fatalf("DeleteSnapshot(%s): %v", id, err)
		}
		e.gone(t, id)
	}
	if n := e.lvm.Calls("SplitSnapshot"); n != 1 {
		t.Errorf("SplitSnapshot ran %d times, want once (the thick snapshot)", n)
	}
	if want := []string{"/dev/vg0/" + ids[0]}; !slices.Equal(e.wiper.zeroed, want) {
		t.Fatalf("zeroed %v, want %v (the thick snapshot's COW area only)", e.wiper.zeroed, want)
	}
}

// A snapshot delete is resumable like a volume's: tagged first, hidden at
// once, finished by the retry or by the reconciler, whichever comes first,
// also after a crash between the split and the wipe.
func TestInterruptedSnapshotDeleteIsFinished(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "v", 64*mib, Thick)
	s, err := e.pool.CreateSnapshot(e.ctx, "s", v.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.wiper.fail = errors.New("I/O error")
	if err := e.pool.DeleteSnapshot(e.ctx, s.ID); err == nil {
		t.Fatal("DeleteSnapshot succeeded although the wipe failed")
	}
	if _, err := e.pool.GetSnapshot(e.ctx, s.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a half-deleted snapshot is visible: %v", err)
	}
	if _, err := e.pool.Create(e.ctx, CreateRequest{Name: "r", RequiredSize: 64 * mib, Provisioning: Thick, SourceSnapshot: s.ID}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("restoring a half-deleted snapshot = %v, want ErrNotFound", err)
	}
	e.wiper.fail = nil
	if err := e.pool.DeleteSnapshot(e.ctx, s.ID); err != nil {
		t.Fatalf("retried DeleteSnapshot: %v", err)
	}
	e.gone(t, s.ID)
	if want := []string{"/dev/vg0/" + s.ID}; !slices.Equal(e.wiper.zeroed, want) {
		t.Fatalf("zeroed %v, want %v", e.wiper.zeroed, want)
	}

	// A crash after the split, before the wipe: the reconciler finishes.
	s2, err := e.pool.CreateSnapshot(e.ctx, "s2", v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.lvm.ChangeTags(e.ctx, testVG, s2.ID, []string{"lic.state=deleting"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.lvm.SplitSnapshot(e.ctx, testVG, s2.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.gone(t, s2.ID)
	if !slices.Contains(e.wiper.zeroed, "/dev/vg0/"+s2.ID) {
		t.Fatalf("zeroed %v: the split-off COW area of %s was not wiped", e.wiper.zeroed, s2.ID)
	}
}

// A thick clone of a live volume reads from a scratch COW snapshot, whose
// COW area collects the source's old blocks written during the copy: it is
// wiped before removal.
func TestThickCloneWipesItsScratchSnapshot(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "src", 64*mib, Thick)
	c, err := e.pool.Create(e.ctx, CreateRequest{Name: "clone", RequiredSize: 64 * mib, Provisioning: Thick, SourceVolume: v.ID})
	if err != nil {
		t.Fatal(err)
	}
	e.gone(t, scratchName(c.ID))
	if !slices.Contains(e.wiper.zeroed, "/dev/vg0/"+scratchName(c.ID)) {
		t.Fatalf("zeroed %v: the scratch snapshot was removed without a wipe", e.wiper.zeroed)
	}
	if n := e.lvm.Calls("SplitSnapshot"); n != 1 {
		t.Errorf("SplitSnapshot ran %d times, want once", n)
	}
}

// What an interrupted clone leaves (a half-copied thick volume, a scratch
// snapshot) holds a tenant's data: the reconciler wipes it before removing
// it. A half-copied thin volume goes back to the zeroing pool as it is.
func TestReconcileWipesWhatAnInterruptedCloneLeft(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "src", 64*mib, Thick)
	w := e.script()
	w.failCopy = errors.New("I/O error")
	for _, prov := range []Provisioning{Thick, Thin} {
		req := CreateRequest{Name: "clone-" + string(prov), RequiredSize: 64 * mib, Provisioning: prov, SourceVolume: v.ID}
		if _, err := e.pool.Create(e.ctx, req); err == nil {
			t.Fatalf("%s clone succeeded although the copy failed", prov)
		}
	}
	// A scratch snapshot a crash left behind, with no job running.
	orphan := scratchName(VolumeID("crashed"))
	if _, err := e.lvm.CreateSnapshot(e.ctx, testVG, v.ID, lvm.CreateOptions{Name: orphan, Size: v.Size,
		Tags: []string{"lic.v1", "lic.kind=scratch", "lic.src=" + VolumeID("crashed")}}); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	thick, thin := VolumeID("clone-thick"), VolumeID("clone-thin")
	for _, name := range []string{thick, thin, scratchName(thick), scratchName(thin), orphan} {
		e.gone(t, name)
	}
	for _, name := range []string{thick, scratchName(thick), scratchName(thin), orphan} {
		if !slices.Contains(e.wiper.zeroed, "/dev/vg0/"+name) {
			t.Errorf("zeroed %v: %s was removed without a wipe", e.wiper.zeroed, name)
		}
	}
	if slices.Contains(e.wiper.zeroed, "/dev/vg0/"+thin) {
		t.Errorf("zeroed %v: a thin LV was wiped (the pool zeroes its blocks)", e.wiper.zeroed)
	}
}

// lvextend hands a thick LV free extents with whatever they held; the new
// space is zeroed before tgtd is told the new size, so the node never reads
// it. Thin volumes get zeroed blocks from the pool.
func TestThickExpandZeroesTheNewTailBeforeTheNodeSeesIt(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "thick", 64*mib, Thick)
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	path := "/dev/vg0/" + v.ID
	e.tgt.SetSize(path, 100*mib) // what tgtd reads once the LV has grown
	w := e.script()
	w.beforeZero = func(string) {
		if got := e.target(t, v.ID).LUNs[0].Size; got != 64*mib {
			t.Errorf("the LUN already showed %d bytes while the new space was being zeroed", got)
		}
	}
	size, err := e.pool.Expand(e.ctx, v.ID, 100*mib, 0)
	if err != nil || size != 100*mib {
		t.Fatalf("Expand = %d, %v", size, err)
	}
	if want := []string{path + "@67108864+37748736"}; !slices.Equal(e.wiper.zeroed, want) {
		t.Fatalf("zeroed %v, want %v", e.wiper.zeroed, want)
	}
	if got := e.target(t, v.ID).LUNs[0].Size; got != 100*mib {
		t.Fatalf("LUN size %d after the expansion, want 100 MiB", got)
	}
	if tags := e.tags(t, v.ID); slices.ContainsFunc(tags, func(s string) bool { return strings.HasPrefix(s, "lic.grow") }) {
		t.Fatalf("tags %v still mark the expansion pending", tags)
	}

	thin := e.create(t, "thin", 64*mib, Thin)
	if _, err := e.pool.Expand(e.ctx, thin.ID, 100*mib, 0); err != nil {
		t.Fatal(err)
	}
	if len(e.wiper.zeroed) != 1 {
		t.Fatalf("zeroed %v: a thin expansion was zeroed", e.wiper.zeroed)
	}
}

// A crash (here: a failing wipe) between lvextend and the end of the
// zeroing leaves the tail unexported: not refreshed by the reconciler, not
// in a LUN rebuilt after a tgtd restart, until the reconciler or the
// retried expansion has zeroed it.
func TestExpandInterruptedBeforeZeroingNeverExposesTheTail(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "v", 64*mib, Thick)
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	path := "/dev/vg0/" + v.ID
	e.tgt.SetSize(path, 100*mib)
	w := e.script()
	w.failZero = errors.New("I/O error")
	if _, err := e.pool.Expand(e.ctx, v.ID, 100*mib, 0); err == nil {
		t.Fatal("Expand succeeded although the new space could not be zeroed")
	}
	exposed := func(when string) {
		t.Helper()
		if tg := e.target(t, v.ID); tg != nil && len(tg.LUNs) > 0 && tg.LUNs[0].Size > 64*mib {
			t.Fatalf("%s: the LUN shows %d bytes before the new space was zeroed", when, tg.LUNs[0].Size)
		}
	}
	exposed("after the failed expansion")
	_ = e.pool.Reconcile(e.ctx)
	exposed("after a reconcile")
	e.tgt.Restart()
	_ = e.pool.Reconcile(e.ctx)
	exposed("after tgtd restarted and a reconcile")

	w.failZero = nil
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	if want := []string{path + "@67108864+37748736"}; !slices.Equal(e.wiper.zeroed, want) {
		t.Fatalf("zeroed %v, want %v", e.wiper.zeroed, want)
	}
	tg := e.target(t, v.ID)
	if tg == nil || len(tg.LUNs) != 1 || tg.LUNs[0].Size != 100*mib || !slices.Contains(tg.InitiatorNames, nodeA.Initiator) {
		t.Fatalf("target after the reconciler finished: %+v", tg)
	}
	// The CO's retry converges without zeroing again.
	if size, err := e.pool.Expand(e.ctx, v.ID, 100*mib, 0); err != nil || size != 100*mib {
		t.Fatalf("retried Expand = %d, %v", size, err)
	}
	if len(e.wiper.zeroed) != 1 {
		t.Fatalf("zeroed %v: the retry zeroed again", e.wiper.zeroed)
	}
}

// ControllerExpandVolume retried after the controller died: before
// lvextend (only the mark was written) and after it (the tail not zeroed).
func TestExpandRetriedAfterACrashConverges(t *testing.T) {
	for _, extended := range []bool{false, true} {
		e := newEnv(t, false)
		v := e.create(t, "v", 64*mib, Thick)
		if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err != nil {
			t.Fatal(err)
		}
		path := "/dev/vg0/" + v.ID
		e.tgt.SetSize(path, 100*mib)
		if err := e.lvm.ChangeTags(e.ctx, testVG, v.ID, []string{"lic.grow=67108864"}, nil); err != nil {
			t.Fatal(err)
		}
		if extended {
			if err := e.lvm.ExtendLV(e.ctx, testVG, v.ID, 100*mib); err != nil {
				t.Fatal(err)
			}
		}
		size, err := e.pool.Expand(e.ctx, v.ID, 100*mib, 0)
		if err != nil || size != 100*mib {
			t.Fatalf("extended=%v: retried Expand = %d, %v", extended, size, err)
		}
		if want := []string{path + "@67108864+37748736"}; !slices.Equal(e.wiper.zeroed, want) {
			t.Fatalf("extended=%v: zeroed %v, want %v", extended, e.wiper.zeroed, want)
		}
		if got := e.target(t, v.ID).LUNs[0].Size; got != 100*mib {
			t.Fatalf("extended=%v: LUN size %d", extended, got)
		}
		if tags := e.tags(t, v.ID); slices.Contains(tags, "lic.grow=67108864") {
			t.Fatalf("extended=%v: tags %v", extended, tags)
		}
	}
}

// A volume whose new space a crash left unzeroed is zeroed before anything
// else can read it: a first publication (tgtd reads the LV's full size when
// the LUN is added), a snapshot, a clone.
func TestPendingTailIsZeroedBeforePublishSnapshotOrClone(t *testing.T) {
	for _, what := range []string{"publish", "snapshot", "clone"} {
		e := newEnv(t, false)
		v := e.create(t, "v", 64*mib, Thick)
		path := "/dev/vg0/" + v.ID
		if err := e.lvm.ChangeTags(e.ctx, testVG, v.ID, []string{"lic.grow=67108864"}, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.lvm.ExtendLV(e.ctx, testVG, v.ID, 100*mib); err != nil {
			t.Fatal(err)
		}
		e.tgt.SetSize(path, 100*mib)
		var err error
		switch what {
		case "publish":
			_, err = e.pool.Publish(e.ctx, v.ID, nodeA, false)
		case "snapshot":
			_, err = e.pool.CreateSnapshot(e.ctx, "s", v.ID)
		case "clone":
			_, err = e.pool.Create(e.ctx, CreateRequest{Name: "c", RequiredSize: 100 * mib, Provisioning: Thick, SourceVolume: v.ID})
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if len(e.wiper.zeroed) == 0 || e.wiper.zeroed[0] != path+"@67108864+37748736" {
			t.Fatalf("%s: zeroed %v, want the pending tail first", what, e.wiper.zeroed)
		}
	}
}

// A thin pool without zeroing hands a new thin volume blocks as a deleted
// one left them: the controller is not ready, and refuses new thin space.
func TestThinPoolWithoutZeroingIsRefused(t *testing.T) {
	e := newEnv(t, true)
	thin := e.create(t, "thin", 64*mib, Thin)
	if err := e.lvm.SetThinPoolZeroing(testPool, false); err != nil {
		t.Fatal(err)
	}
	err := e.pool.Ready(e.ctx)
	if err == nil || !strings.Contains(err.Error(), "lvchange -Z y vg0/pool0") {
		t.Fatalf("Ready = %v, want a refusal naming the fix", err)
	}
	if _, err := e.pool.Create(e.ctx, CreateRequest{Name: "t2", RequiredSize: 64 * mib, Provisioning: Thin}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("new thin volume = %v, want ErrUnavailable", err)
	}
	if _, err := e.pool.Expand(e.ctx, thin.ID, 128*mib, 0); !errors.Is(err, ErrUnavailable) {
		t.Errorf("growing a thin volume = %v, want ErrUnavailable", err)
	}
	if _, err := e.pool.CreateSnapshot(e.ctx, "s", thin.ID); !errors.Is(err, ErrUnavailable) {
		t.Errorf("thin snapshot = %v, want ErrUnavailable", err)
	}
	if _, err := e.pool.Create(e.ctx, CreateRequest{Name: "k", RequiredSize: 64 * mib, Provisioning: Thick}); err != nil {
		t.Errorf("thick volumes need no thin pool: %v", err)
	}
}

// The administrator may accept a pool without zeroing (for instance one on
// a disk that reads zeroes after a discard): then it serves thin volumes.
func TestThinPoolWithoutZeroingAcceptedByTheAdministrator(t *testing.T) {
	e := newEnv(t, true)
	if err := e.lvm.SetThinPoolZeroing(testPool, false); err != nil {
		t.Fatal(err)
	}
	e.pool.cfg.AllowThinPoolWithoutZeroing = true
	if err := e.pool.Ready(e.ctx); err != nil {
		t.Fatalf("Ready = %v, want ready: the administrator accepted the pool", err)
	}
	if _, err := e.pool.Create(e.ctx, CreateRequest{Name: "t", RequiredSize: 64 * mib, Provisioning: Thin}); err != nil {
		t.Fatalf("thin volume in an accepted pool: %v", err)
	}
}

// Wiping is for LVs of ours only: an LV without the lic.v1 tag is never
// split, zeroed or removed, whatever its name.
func TestWipeNeverTouchesForeignLVs(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "src", 64*mib, Thick)
	foreignSnap := SnapshotID("someone-elses")
	foreignScratch := scratchName(VolumeID("clone"))
	for _, name := range []string{foreignSnap, foreignScratch} {
		if _, err := e.lvm.CreateSnapshot(e.ctx, testVG, v.ID, lvm.CreateOptions{Name: name, Size: 8 * mib}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.pool.DeleteSnapshot(e.ctx, foreignSnap); err != nil {
		t.Fatalf("DeleteSnapshot of a foreign LV = %v, want success without touching it", err)
	}
	if _, err := e.pool.Create(e.ctx, CreateRequest{Name: "clone", RequiredSize: 64 * mib, Provisioning: Thick, SourceVolume: v.ID}); err == nil {
		t.Fatal("a clone took over a foreign LV in its scratch snapshot's place")
	}
	if err := e.pool.wipeAndRemove(e.ctx, foreignSnap); err == nil {
		t.Fatal("wipeAndRemove accepted a foreign LV")
	}
	for _, name := range []string{foreignSnap, foreignScratch} {
		lv, err := e.lvm.GetLV(e.ctx, testVG, name)
		if err != nil || !lv.IsCOWSnapshot() {
			t.Fatalf("foreign LV %s after the calls: %+v, %v", name, lv, err)
		}
		if slices.Contains(e.wiper.zeroed, "/dev/vg0/"+name) {
			t.Fatalf("foreign LV %s was zeroed", name)
		}
	}
}

// blockingZero holds ZeroRange until released, to play a zeroing longer
// than a call.
type blockingZero struct {
	*recordingWiper
	release, entered chan struct{}
	once             sync.Once
}

func (b *blockingZero) ZeroRange(ctx context.Context, dev string, offset, length uint64) error {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return b.recordingWiper.ZeroRange(ctx, dev, offset, length)
}

// Zeroing a large tail outlasts ControllerExpandVolume's deadline: the call
// says "in progress", the zeroing goes on, a delete waits for it, and the
// retry joins it instead of zeroing again.
func TestLongTailZeroingOutlivesTheCall(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "v", 64*mib, Thick)
	release, entered := make(chan struct{}), make(chan struct{})
	e.pool.blocks = &blockingZero{recordingWiper: e.wiper, release: release, entered: entered}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { _, err := e.pool.Expand(ctx, v.ID, 100*mib, 0); done <- err }()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the expansion never zeroed its new space")
	}
	cancel()
	if err := <-done; !errors.Is(err, ErrInProgress) {
		t.Fatalf("Expand whose call ended mid-zeroing = %v, want ErrInProgress", err)
	}
	if err := e.pool.Delete(e.ctx, v.ID); !errors.Is(err, ErrInProgress) {
		t.Fatalf("Delete during the zeroing = %v, want ErrInProgress", err)
	}
	retry := make(chan error, 1)
	go func() { _, err := e.pool.Expand(e.ctx, v.ID, 100*mib, 0); retry <- err }()
	close(release)
	if err := <-retry; err != nil {
		t.Fatalf("retried Expand: %v", err)
	}
	if len(e.wiper.zeroed) != 1 {
		t.Fatalf("zeroed %v: the tail was zeroed more than once", e.wiper.zeroed)
	}
}
