package pool

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// States a crash leaves between two steps of a call, found by the
// kill-point walk (test/e2e/killpoints_test.go): the retry must converge.

// The kill-point walk's CreateVolume/snapshot-thin/after:8 (and clone
// points): the controller died right after lvcreate made the clone's LV,
// tagged creating. The restarted controller's start-up reconcile removes
// that leftover under the clone's job key, while the CO's retry, which
// read the LV just before the reconciler tagged it, resumes the fill under
// the same key: it waited for the removal and then answered Internal
// ("Failed to find logical volume"). The retry must fill the volume again.
func TestCloneRetryThatMeetsTheLeftoversRemovalFillsAgain(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "src", 64*mib, Thick)
	e.wiper.fail = errors.New("I/O error") // the interrupted fill
	req := CreateRequest{Name: "clone", RequiredSize: 64 * mib, Provisioning: Thick, SourceVolume: v.ID}
	if _, err := e.pool.Create(e.ctx, req); err == nil {
		t.Fatal("clone succeeded although the copy failed")
	}
	e.wiper.fail = nil
	id := VolumeID("clone")

	// The reconciler's removal blocks in its wipe until the retry has
	// joined the job; the retry's first read of the LV happens before the
	// reconciler tags it.
	wipe := &firstZeroBlocks{recordingWiper: e.wiper, entered: make(chan struct{}), release: make(chan struct{})}
	e.pool.blocks = wipe
	reconciled := make(chan error, 1)
	hooked := &hookedLVM{Interface: e.pool.lvm}
	hooked.onGet = func(name string) {
		if name != id {
			return
		}
		if hooked.fired.CompareAndSwap(false, true) { // the retry's read, not the reconciler's
			go func() { reconciled <- e.pool.Reconcile(e.ctx) }()
			<-wipe.entered
		}
	}
	e.pool.lvm = hooked
	done := make(chan error, 1)
	var c Volume
	go func() {
		var err error
		c, err = e.pool.Create(e.ctx, req)
		done <- err
	}()
	for e.pool.jobs.waiters(id) < 2 { // until the retry, beside Reconcile, waits on the removal's job
		time.Sleep(time.Millisecond)
	}
	close(wipe.release)
	if err := <-reconciled; err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the retried Create = %v, want the clone filled again", err)
	}
	if c.ID != id || c.Source != v.ID {
		t.Fatalf("retry = %+v", c)
	}
	lv, err := e.lvm.GetLV(e.ctx, testVG, id)
	if err != nil {
		t.Fatalf("no clone LV after the retry: %v", err)
	}
	if info := parseTags(lv.Tags); info.creating || info.deleting {
		t.Fatalf("the clone's tags after the retry: %v", lv.Tags)
	}
}

// hookedLVM calls onGet after each GetLV, with the LV's name, and after
// each ListLVs with the name of every LV listed: a call reads an LV either
// way (CreateVolume through its one report, report.go).
type hookedLVM struct {
	lvm.Interface
	fired atomic.Bool
	onGet func(name string)
}

func (h *hookedLVM) GetLV(ctx context.Context, vg, name string) (*lvm.LV, error) {
	lv, err := h.Interface.GetLV(ctx, vg, name)
	h.onGet(name)
	return lv, err
}

func (h *hookedLVM) ListLVs(ctx context.Context, vg string) ([]lvm.LV, error) {
	lvs, err := h.Interface.ListLVs(ctx, vg)
	for _, lv := range lvs {
		h.onGet(lv.Name)
	}
	return lvs, err
}

// firstZeroBlocks blocks the first Zero until release.
type firstZeroBlocks struct {
	*recordingWiper
	once             sync.Once
	entered, release chan struct{}
}

func (b *firstZeroBlocks) Zero(ctx context.Context, dev string) error {
	first := false
	b.once.Do(func() { first = true })
	if first {
		close(b.entered)
		<-b.release
	}
	return b.recordingWiper.Zero(ctx, dev)
}
