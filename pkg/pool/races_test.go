package pool

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm/lvmfake"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// gatedLVM holds one lvm call (the first one gate matches) until released,
// so a test can run another operation in exactly that window.
type gatedLVM struct {
	*lvmfake.Fake
	gate             func(method, name string, add []string) bool
	entered, release chan struct{}
	once             sync.Once
}

func newGatedLVM(f *lvmfake.Fake, gate func(method, name string, add []string) bool) *gatedLVM {
	return &gatedLVM{Fake: f, gate: gate, entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gatedLVM) wait(method, name string, add []string) {
	hold := false
	if g.gate(method, name, add) {
		g.once.Do(func() { hold = true })
	}
	if hold {
		close(g.entered)
		<-g.release
	}
}

func (g *gatedLVM) CreateSnapshot(ctx context.Context, vg, origin string, opts lvm.CreateOptions) (*lvm.LV, error) {
	g.wait("CreateSnapshot", opts.Name, nil)
	return g.Fake.CreateSnapshot(ctx, vg, origin, opts)
}

func (g *gatedLVM) CreateLV(ctx context.Context, vg string, opts lvm.CreateOptions) (*lvm.LV, error) {
	g.wait("CreateLV", opts.Name, nil)
	return g.Fake.CreateLV(ctx, vg, opts)
}

// The NoReport variants are the same lvcreate: gated under the same names.
func (g *gatedLVM) CreateSnapshotNoReport(ctx context.Context, vg, origin string, opts lvm.CreateOptions) error {
	g.wait("CreateSnapshot", opts.Name, nil)
	return g.Fake.CreateSnapshotNoReport(ctx, vg, origin, opts)
}

func (g *gatedLVM) CreateLVNoReport(ctx context.Context, vg string, opts lvm.CreateOptions) error {
	g.wait("CreateLV", opts.Name, nil)
	return g.Fake.CreateLVNoReport(ctx, vg, opts)
}

func (g *gatedLVM) ChangeTags(ctx context.Context, vg, name string, add, del []string) error {
	g.wait("ChangeTags", name, add)
	return g.Fake.ChangeTags(ctx, vg, name, add, del)
}

// deleteMustWait runs del while the gated call is held and requires it to
// answer ErrInProgress without starting the wipe: a delete that went ahead
// would zero (or remove) data the held operation is about to read.
func deleteMustWait(t *testing.T, e *env, g *gatedLVM, what string, del func() error) {
	t.Helper()
	<-g.entered
	wipe := &blockingWipe{recordingWiper: e.wiper, release: make(chan struct{}), entered: make(chan struct{})}
	e.pool.blocks = wipe
	done := make(chan error, 1)
	go func() { done <- del() }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrInProgress) {
			t.Errorf("%s = %v, want ErrInProgress", what, err)
		}
	case <-wipe.entered:
		t.Errorf("%s started wiping the source of an operation in progress", what)
		close(wipe.release)
		<-done
	}
	e.pool.blocks = e.wiper
}

func TestDeleteWaitsForASnapshotBeingTaken(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "src", 64*mib, Thick)
	g := newGatedLVM(e.lvm, func(m, _ string, _ []string) bool { return m == "CreateSnapshot" })
	e.pool.lvm = g
	snap := make(chan error, 1)
	go func() {
		_, err := e.pool.CreateSnapshot(e.ctx, "s", v.ID)
		snap <- err
	}()
	deleteMustWait(t, e, g, "DeleteVolume while a snapshot of it is being taken", func() error { return e.pool.Delete(e.ctx, v.ID) })
	close(g.release)
	if err := <-snap; err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}
	// The snapshot holds the volume's data as it was; the volume stays
	// until its snapshots go.
	if err := e.pool.Delete(e.ctx, v.ID); !errors.Is(err, ErrHasSnapshots) {
		t.Fatalf("DeleteVolume of a volume with a snapshot = %v, want ErrHasSnapshots", err)
	}
}

func TestDeleteWaitsForACloneReadingTheVolume(t *testing.T) {
	for _, prov := range []Provisioning{Thick, Thin} {
		t.Run(string(prov), func(t *testing.T) {
			e := newEnv(t, true)
			v := e.create(t, "src", 64*mib, prov)
			// Held: the scratch snapshot of a thick source, the thin
			// snapshot that is a thin clone.
			g := newGatedLVM(e.lvm, func(m, _ string, _ []string) bool { return m == "CreateSnapshot" })
			e.pool.lvm = g
			clone := make(chan error, 1)
			go func() {
				_, err := e.pool.Create(e.ctx, CreateRequest{Name: "clone", RequiredSize: 64 * mib, Provisioning: prov, SourceVolume: v.ID})
				clone <- err
			}()
			deleteMustWait(t, e, g, "DeleteVolume while a clone of it is being made", func() error { return e.pool.Delete(e.ctx, v.ID) })
			close(g.release)
			if err := <-clone; err != nil {
				t.Fatalf("clone: %v", err)
			}
			if err := e.pool.Delete(e.ctx, v.ID); err != nil {
				t.Fatalf("DeleteVolume after the clone: %v", err)
			}
		})
	}
}

// A restore's own LV does not exist yet while its job starts: the snapshot
// must still not be deleted under it.
func TestDeleteSnapshotWaitsForARestoreStarting(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "src", 64*mib, Thick)
	s, err := e.pool.CreateSnapshot(e.ctx, "s", v.ID)
	if err != nil {
		t.Fatal(err)
	}
	id := VolumeID("restore")
	g := newGatedLVM(e.lvm, func(m, name string, _ []string) bool { return m == "CreateLV" && name == id })
	e.pool.lvm = g
	restore := make(chan error, 1)
	go func() {
		_, err := e.pool.Create(e.ctx, CreateRequest{Name: "restore", RequiredSize: 64 * mib, Provisioning: Thick, SourceSnapshot: s.ID})
		restore <- err
	}()
	deleteMustWait(t, e, g, "DeleteSnapshot while a restore from it starts", func() error { return e.pool.DeleteSnapshot(e.ctx, s.ID) })
	close(g.release)
	if err := <-restore; err != nil {
		t.Fatalf("restore: %v", err)
	}
	if err := e.pool.DeleteSnapshot(e.ctx, s.ID); err != nil {
		t.Fatalf("DeleteSnapshot after the restore: %v", err)
	}
}

// The reconciler found a half-filled clone no job owned and started
// removing it; the CO's retry of CreateVolume read the LV just before and
// joined that removal. The retry must end with the volume, made again, not
// with an error about an LV that went away under it.
func TestCloneRetryThatJoinedALeftoverRemovalStartsOver(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "src", 64*mib, Thick)
	req := CreateRequest{Name: "clone", RequiredSize: 64 * mib, Provisioning: Thick, SourceVolume: v.ID}
	e.wiper.fail = errors.New("I/O error")
	if _, err := e.pool.Create(e.ctx, req); err == nil {
		t.Fatal("clone succeeded although the copy failed")
	}
	e.wiper.fail = nil
	id := VolumeID("clone")
	// Hold the reconciler's removal right before it marks the LV.
	g := newGatedLVM(e.lvm, func(m, name string, add []string) bool {
		return m == "ChangeTags" && name == id && slices.Contains(add, tagState+stateDelete)
	})
	e.pool.lvm = g
	reconciled := make(chan error, 1)
	go func() { reconciled <- e.pool.Reconcile(e.ctx) }()
	<-g.entered
	created := make(chan error, 1)
	go func() {
		c, err := e.pool.Create(e.ctx, req)
		if err == nil && c.ID != id {
			err = errors.New("clone has id " + c.ID)
		}
		created <- err
	}()
	// The retry reads the LV (still only "creating") and joins the job
	// the reconciler runs under the clone's id; then the removal goes on.
	waitUntil(t, func() bool { return e.pool.jobs.waiters(id) >= 2 })
	close(g.release)
	if err := <-reconciled; err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if err := <-created; err != nil {
		t.Fatalf("CreateVolume retried while the reconciler removed the leftover = %v, want the volume", err)
	}
	if _, err := e.pool.Get(e.ctx, id); err != nil {
		t.Fatalf("the clone after the retry: %v", err)
	}
}

// A tgtd restart must be healed within seconds even while a wipe that
// takes hours on a real disk runs: the reconciler does not wait for it.
func TestTgtdRestartIsHealedWhileALongWipeRuns(t *testing.T) {
	e := newEnv(t, false)
	published := e.create(t, "in-use", 8*mib, Thick)
	if _, err := e.pool.Publish(e.ctx, published.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	doomed := e.create(t, "doomed", 64*mib, Thick)
	// A crash left the volume marked for deletion: the reconciler's first
	// pass finishes the delete, and the wipe takes "hours".
	if err := e.lvm.ChangeTags(e.ctx, testVG, doomed.ID, []string{tagState + stateDelete}, nil); err != nil {
		t.Fatal(err)
	}
	wipe := &blockingWipe{recordingWiper: e.wiper, release: make(chan struct{}), entered: make(chan struct{})}
	e.pool.blocks = wipe
	defer close(wipe.release)

	socket := filepath.Join(t.TempDir(), "tgtd.sock")
	listen := func() net.Listener {
		l, err := net.Listen("unix", socket)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := listen()
	defer startReconciler(e.pool, socket)()
	<-wipe.entered

	// tgtd restarts: every target is gone and its socket is a new file.
	e.tgt.Restart()
	l.Close()
	os.Remove(socket)
	l = listen()
	defer l.Close()
	waitUntil(t, func() bool { tg := e.target(t, published.ID); return tg != nil && len(tg.InitiatorNames) == 1 })
	if _, err := e.lvm.GetLV(e.ctx, testVG, doomed.ID); err != nil {
		t.Fatalf("the volume being wiped: %v", err)
	}
}

// startReconciler runs p's reconciler (an hour between timed passes) on
// tgtd's socket path until the returned stop is called, which waits for
// it to return.
func startReconciler(p *Pool, socket string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { p.RunReconciler(ctx, socket, time.Hour); close(stopped) }()
	return func() { cancel(); <-stopped }
}

// waitUntil polls cond; the deadline only bounds a hang, it is no speed
// target.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 20s")
		}
	}
}

// waiters is how many calls wait for the job running under key.
func (j *jobs) waiters(key string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	if jb, ok := j.running[key]; ok {
		return jb.waiting
	}
	return 0
}

// The reconciler runs unfinished work without waiting for it; the two
// leftovers of one interrupted clone (its half-filled LV and its scratch
// snapshot) share the clone's job key, and both must go in the same pass,
// not one per --reconcile-interval.
func TestReconcilerRemovesBothLeftoversOfAClone(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "src", 64*mib, Thick)
	e.wiper.fail = errors.New("I/O error")
	if _, err := e.pool.Create(e.ctx, CreateRequest{Name: "clone", RequiredSize: 64 * mib, Provisioning: Thick, SourceVolume: v.ID}); err == nil {
		t.Fatal("clone succeeded although the copy failed")
	}
	id := VolumeID("clone")
	for _, name := range []string{id, scratchName(id)} {
		if _, err := e.lvm.GetLV(e.ctx, testVG, name); err != nil {
			t.Fatalf("the interrupted clone should have left %s: %v", name, err)
		}
	}
	e.wiper.fail = nil
	defer startReconciler(e.pool, filepath.Join(t.TempDir(), "no-tgtd.sock"))()
	waitUntil(t, func() bool {
		_, errLV := e.lvm.GetLV(e.ctx, testVG, id)
		_, errScratch := e.lvm.GetLV(e.ctx, testVG, scratchName(id))
		return errors.Is(errLV, lvm.ErrNotFound) && errors.Is(errScratch, lvm.ErrNotFound)
	})
}

// A force-detach (ControllerUnpublish while the node writes): tgtd
// refuses to delete the target while its LUN still runs commands of the
// closed connection ("this logical unit is still active", seen in the e2e
// guest). The unpublish waits for them to drain instead of failing.
func TestUnpublishWaitsForTheLUNsCommandsToDrain(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "pvc-1", 8*mib, Thick)
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	busy := fmt.Errorf("%w: tgtadm: this logical unit is still active", tgt.ErrBusy)
	e.tgt.FailNext("DeleteTarget", busy)
	e.tgt.FailNext("DeleteTarget", busy)
	if err := e.pool.Unpublish(e.ctx, v.ID, nodeA.ID); err != nil {
		t.Fatalf("Unpublish while the LUN drains: %v", err)
	}
	if tg := e.target(t, v.ID); tg != nil {
		t.Fatalf("target left after the unpublish: %+v", tg)
	}
}
