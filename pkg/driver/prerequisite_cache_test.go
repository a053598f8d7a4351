package driver

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable now().
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// gatedCheck is a check that counts its runs and, while gate is set,
// blocks until the gate is closed.
type gatedCheck struct {
	runs   atomic.Int32
	result atomic.Value // error wrapper
	mu     sync.Mutex
	gate   chan struct{}
}

type checkResult struct{ err error }

func (g *gatedCheck) check(ctx context.Context) error {
	g.runs.Add(1)
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	if gate != nil {
		<-gate
	}
	r, _ := g.result.Load().(checkResult)
	return r.err
}

func (g *gatedCheck) hold() chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate = make(chan struct{})
	return g.gate
}

func newCachedCheck(g *gatedCheck, clock *fakeClock) *cachedCheck {
	return &cachedCheck{check: g.check, now: clock.now,
		reuse: 5 * time.Second, patience: 50 * time.Millisecond, freshness: time.Minute, timeout: time.Minute}
}

func TestCachedPrerequisiteReusesAYoungResult(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	g := &gatedCheck{}
	c := newCachedCheck(g, clock)
	for range 3 {
		if err := c.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := g.runs.Load(); n != 1 {
		t.Fatalf("three calls within the reuse time ran the check %d times, want 1", n)
	}
	clock.advance(6 * time.Second)
	missing := errors.New("volume group gone")
	g.result.Store(checkResult{missing})
	if err := c.Check(context.Background()); !errors.Is(err, missing) {
		t.Fatalf("after the reuse time, Check = %v; want the new check's %v", err, missing)
	}
	if n := g.runs.Load(); n != 2 {
		t.Fatalf("the check ran %d times, want 2", n)
	}
}

func TestCachedPrerequisiteSharesOneRunningCheck(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	g := &gatedCheck{}
	c := newCachedCheck(g, clock)
	c.patience = time.Minute
	gate := g.hold()
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- c.Check(context.Background()) }()
	}
	time.Sleep(50 * time.Millisecond)
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := g.runs.Load(); n != 1 {
		t.Fatalf("five concurrent callers ran the check %d times, want 1", n)
	}
}

// A check that hangs (lvm waiting for a lock) does not hold callers past
// the patience: they get the last result while it is fresh, and a failure
// naming the check once it is not.
func TestCachedPrerequisiteAnswersFromTheLastResultWhileACheckHangs(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	g := &gatedCheck{}
	c := newCachedCheck(g, clock)

	gate := g.hold()
	start := time.Now()
	err := c.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "first check has not finished") {
		t.Fatalf("no check ever finished: Check = %v, want a failure saying so", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Check waited %v for a hanging check", took)
	}
	close(gate)
	for g.runs.Load() != 1 || c.Check(context.Background()) != nil {
		time.Sleep(10 * time.Millisecond)
	}

	clock.advance(10 * time.Second) // past reuse: a new check starts, and hangs
	gate = g.hold()
	defer close(gate)
	start = time.Now()
	if err := c.Check(context.Background()); err != nil {
		t.Fatalf("with a 10s old success, Check = %v; want it answered", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Check waited %v for a hanging check", took)
	}
	clock.advance(time.Minute) // the success is stale now
	err = c.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no check has finished for 1m10s") {
		t.Fatalf("with a stale success and a hanging check, Check = %v; want a failure saying no check finished", err)
	}
	if n := g.runs.Load(); n != 2 {
		t.Fatalf("the check ran %d times, want 2 (a hanging one is never started twice)", n)
	}
}
