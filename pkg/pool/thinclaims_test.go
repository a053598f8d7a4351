package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm/lvmfake"
)

// readTogether holds every lvs until n are under way or a second passed:
// calls that each read the VG on their own all read it before any of them
// made its LV.
type readTogether struct {
	*lvmfake.Fake
	mu      sync.Mutex
	waiting int
	n       int
	all     chan struct{}
}

func (r *readTogether) ListLVs(ctx context.Context, vg string) ([]lvm.LV, error) {
	r.mu.Lock()
	r.waiting++
	if r.waiting == r.n {
		close(r.all)
	}
	r.mu.Unlock()
	select {
	case <-r.all:
	case <-time.After(time.Second):
	}
	return r.Fake.ListLVs(ctx, vg)
}

// The overprovisioning allowance holds for thin volumes created at once:
// the 2 GiB pool at ratio 1 has room for two 1 GiB volumes, and of four
// CreateVolume calls sent together exactly two succeed, the others are
// refused with ErrNoSpace, and the pool is never promised more than 2 GiB.
func TestThinAllowanceHoldsForCreatesAtOnce(t *testing.T) {
	e := newEnv(t, true)
	const n = 4
	reads := &readTogether{Fake: e.lvm, n: n, all: make(chan struct{})}
	p, err := New(e.pool.cfg, reads, e.tgt, e.secrets, e.wiper)
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = p.Create(e.ctx, CreateRequest{Name: fmt.Sprintf("pvc-%d", i), RequiredSize: gib, Provisioning: Thin})
		}()
	}
	wg.Wait()
	made, refused := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			made++
		case errors.Is(err, ErrNoSpace):
			refused++
		default:
			t.Fatalf("Create: %v", err)
		}
	}
	lvs, err := e.lvm.ListLVs(e.ctx, testVG)
	if err != nil {
		t.Fatal(err)
	}
	var virtual uint64
	for _, lv := range lvs {
		if lv.PoolLV == testPool {
			virtual += lv.Size
		}
	}
	if made != 2 || refused != 2 || virtual > 2*gib {
		t.Fatalf("%d made, %d refused, %d GiB promised of a 2 GiB pool: want 2 made, 2 refused", made, refused, virtual/gib)
	}
}

// A claim counts until a listing that started after its command ended
// shows its LV; a failed command's claim goes at once; a retry's claim
// replaces the earlier one of the same LV; a growth counts only its
// increase over what the listing shows.
func TestThinClaimsCountWhatTheListingCannotShow(t *testing.T) {
	e := newEnv(t, true)
	p := e.pool
	before := &lvReport{started: time.Now().Add(-time.Minute)}
	pool := lvm.LV{Name: testPool, Size: 2 * gib, Attr: "twi-aotz--"}
	before.lvs = []lvm.LV{pool}

	endA, err := p.claimThin(before, "a", gib)
	if err != nil {
		t.Fatal(err)
	}
	// a is running: 1 GiB of 2 is left to a listing that does not show it.
	if _, err := p.claimThin(before, "b", gib+1); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("claim past the room a holds = %v, want ErrNoSpace", err)
	}
	endA(true)
	// Ended after the listing started: still counted for that listing...
	if _, err := p.claimThin(before, "b", gib+1); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("claim with a listing older than a's lvcreate = %v, want ErrNoSpace", err)
	}
	// ...but not for one that started after it, which shows the LV.
	after := &lvReport{started: time.Now().Add(time.Millisecond), lvs: []lvm.LV{pool, {Name: "a", Size: gib, PoolLV: testPool}}}
	if _, err := p.claimThin(after, "b", gib+1); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("a shown by the listing and b past the rest = %v, want ErrNoSpace", err)
	}
	endB, err := p.claimThin(after, "b", gib)
	if err != nil {
		t.Fatalf("b in the room a left = %v", err)
	}
	endB(false) // lvcreate failed: the room is free again at once
	endC, err := p.claimThin(after, "c", gib)
	if err != nil {
		t.Fatalf("c after b's failed lvcreate = %v", err)
	}
	// A growth of a to 1.5 GiB counts only 0.5 GiB over the listing, but c
	// (running) holds the rest.
	if _, err := p.claimThin(after, "a", gib+gib/2); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("growth of a while c holds the rest = %v, want ErrNoSpace", err)
	}
	endC(false)
	endGrow, err := p.claimThin(after, "a", gib+gib/2)
	if err != nil {
		t.Fatalf("growth of a by 0.5 GiB with 1 GiB left = %v", err)
	}
	// A retry of the same growth replaces the claim instead of adding to it.
	if _, err := p.claimThin(after, "a", gib+gib/2); err != nil {
		t.Fatalf("the growth retried = %v", err)
	}
	endGrow(true) // the replaced claim's end changes nothing
	if n := len(p.thin.byLV); n != 1 {
		t.Fatalf("%d claims held, want the retried growth's only", n)
	}
}
