package pool

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// gatedList is an lvs that blocks until released, counting its runs and
// stamping each listing with the state "version" at its start.
type gatedList struct {
	runs    atomic.Int32
	version atomic.Int32
	gate    chan struct{}
}

func (g *gatedList) list(context.Context) ([]lvm.LV, error) {
	g.runs.Add(1)
	v := g.version.Load()
	<-g.gate
	return []lvm.LV{{Name: "v", Tags: []string{string(rune('0' + v))}}}, nil
}

// Calls that arrive while reads run share the next one, and none gets a
// listing that started before it asked: two calls read side by side, the
// eight arriving meanwhile (after a change) share one read that sees the
// change, and each may change its copy without the others seeing it.
func TestConcurrentCallsShareAFreshRead(t *testing.T) {
	var s sharedReads
	g := &gatedList{gate: make(chan struct{})}
	results := make(chan []lvm.LV, 10)
	var wg sync.WaitGroup
	call := func() {
		defer wg.Done()
		lvs, _, err := s.read(context.Background(), g.list)
		if err != nil {
			t.Error(err)
		}
		results <- lvs
	}
	for i := range int32(2) {
		wg.Add(1)
		go call()
		waitUntil(t, func() bool { return g.runs.Load() == i+1 })
	}
	g.version.Store(1) // a change the next callers must see
	wg.Add(8)
	for range 8 {
		go call()
	}
	waitUntil(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.next != nil && s.next.callers == 8
	})
	close(g.gate)
	wg.Wait()
	close(results)
	if n := g.runs.Load(); n != 3 {
		t.Fatalf("ten calls ran %d lvs, want 3 (two side by side, one shared by the eight)", n)
	}
	fresh := 0
	for lvs := range results {
		if lvs[0].Tags[0] == "1" {
			fresh++
		}
		lvs[0].Tags[0] = "changed by a caller"
	}
	if fresh != 8 {
		t.Fatalf("%d of the 8 calls made after the change saw it", fresh)
	}
}

// An lvs that fails fails every call that shared it, and the next call
// reads again instead of getting the failure kept.
func TestASharedReadFailureReachesEveryCallerOnce(t *testing.T) {
	var s sharedReads
	var runs atomic.Int32
	fail := make(chan struct{})
	list := func(context.Context) ([]lvm.LV, error) {
		if runs.Add(1) == 1 {
			<-fail
			return nil, errors.New("lvs: exit status 5")
		}
		return []lvm.LV{{Name: "v"}}, nil
	}
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			_, _, err := s.read(context.Background(), list)
			errs <- err
		}()
	}
	waitUntil(t, func() bool { return runs.Load() >= 1 })
	close(fail)
	failed := 0
	for range 3 {
		if err := <-errs; err != nil {
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("no call saw the failed lvs")
	}
	lvs, _, err := s.read(context.Background(), list)
	if err != nil || len(lvs) != 1 {
		t.Fatalf("the read after the failure = %v, %v; want a fresh listing", lvs, err)
	}
}
