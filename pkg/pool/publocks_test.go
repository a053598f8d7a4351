package pool

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm/lvmfake"
)

// overlappingReports holds each of the first two lvs reports until the
// other one is under way too, for at most a second, and counts the
// reports and those that met the other: two publishes whose reports run
// together make 2, two that share one report (lvreads.go) 1 report, two
// that take turns 1 or 0 met in 2 reports.
type overlappingReports struct {
	*lvmfake.Fake
	mu    sync.Mutex
	n     int
	both  chan struct{}
	met   atomic.Int32
	calls atomic.Int32
}

func (o *overlappingReports) ListLVs(ctx context.Context, vg string) ([]lvm.LV, error) {
	o.mu.Lock()
	o.n++
	o.calls.Add(1)
	if o.n == 2 {
		close(o.both)
	}
	o.mu.Unlock()
	select {
	case <-o.both:
		o.met.Add(1)
	case <-time.After(time.Second):
	}
	return o.Fake.ListLVs(ctx, vg)
}

// Publications of different volumes do not wait for each other's lvm
// commands: neither to different nodes nor to one node (a burst of pods
// scheduled to one node). Only what conflicts is ordered (publocks.go).
func TestPublishesOfDifferentVolumesRunTogether(t *testing.T) {
	for name, nodes := range map[string][2]Node{
		"two nodes": {nodeA, nodeB},
		"one node":  {nodeA, nodeA},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, false)
			vols := []Volume{e.create(t, "pvc-1", 8*mib, Thick), e.create(t, "pvc-2", 8*mib, Thick)}
			reports := &overlappingReports{Fake: e.lvm, both: make(chan struct{})}
			p, err := New(e.pool.cfg, reports, e.tgt, e.secrets, e.wiper)
			if err != nil {
				t.Fatal(err)
			}
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = p.Publish(e.ctx, vols[i].ID, nodes[i], false)
				}()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if met, calls := reports.met.Load(), reports.calls.Load(); met != 2 && calls != 1 {
				t.Fatalf("the two publishes' lvs reports ran one after the other (%d reports, %d of 2 met the other)", calls, met)
			}
			for i, v := range vols {
				if got, _ := e.pool.Get(e.ctx, v.ID); len(got.Nodes) != 1 || got.Nodes[0] != nodes[i] {
					t.Errorf("volume %d is published to %+v, want %+v", i, got.Nodes, nodes[i])
				}
			}
		})
	}
}

// Two publishes of one volume to two nodes at once, not shared: only one
// can win, the other is ErrPublishedElsewhere, although both passed the
// check before either tag was written had there been no ordering.
func TestPublishOfOneVolumeToTwoNodesAtOnce(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "pvc-1", 8*mib, Thick)
	p, err := New(e.pool.cfg, &rendezvousTags{Fake: e.lvm, arrived: make(chan struct{})}, e.tgt, e.secrets, e.wiper)
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, n := range []Node{nodeA, nodeB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = p.Publish(e.ctx, v.ID, n, false)
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("errors %v and %v: want exactly one publish refused", errs[0], errs[1])
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, ErrPublishedElsewhere) {
			t.Fatalf("the refused publish failed with %v, want ErrPublishedElsewhere", err)
		}
	}
	if got, _ := e.pool.Get(e.ctx, v.ID); len(got.Nodes) != 1 {
		t.Fatalf("the volume is published to %+v, want one node", got.Nodes)
	}
}

// A publication waiting for its turn gives up when its caller does.
func TestPublishWaitingForItsTurnEndsWithItsContext(t *testing.T) {
	var l pubLocks
	release, err := l.acquire(context.Background(), "vol-1", nodeA)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.acquire(ctx, "vol-1", nodeB); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire = %v, want the context's deadline", err)
	}
}
