package driver

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Bounds of a cached prerequisite (CachedPrerequisite).
const (
	// checkReuse: a result this young is answered again without a new
	// check, so kubelet's liveness probe, the sidecars' Probes and
	// metrics scrapes together run at most one check this often.
	checkReuse = 5 * time.Second
	// checkPatience is how long a caller waits for a check under way
	// before it is answered from the last result instead.
	checkPatience = time.Second
	// checkFreshness: a last result older than this is not answered any
	// more; while no check finishes, the prerequisite fails. lvm commands
	// wait for each other's VG locks for seconds on a busy host, never
	// for minutes on a healthy one.
	checkFreshness = 2 * time.Minute
	// checkTimeout bounds one check, which runs detached from the caller
	// that started it (the next caller may want its result).
	checkTimeout = time.Minute
)

// CachedPrerequisite answers p from its last result while that is fresh,
// so Probe stays cheap and prompt: Probe and the liveness probe's /healthz
// must answer within the probe's timeout (a few seconds) whatever the
// storage host is doing, or kubelet restarts the driver mid-operation.
// One check runs at a time, at most once per checkReuse, shared by every
// caller; a caller waits for it at most checkPatience and is then answered
// from the last result if that is younger than checkFreshness, else told
// the check has not finished (a host whose lvm has not answered for
// minutes is not healthy).
func CachedPrerequisite(p Prerequisite) Prerequisite {
	c := &cachedCheck{check: p.Check, now: time.Now,
		reuse: checkReuse, patience: checkPatience, freshness: checkFreshness, timeout: checkTimeout}
	return Prerequisite{Name: p.Name, Check: c.Check}
}

type cachedCheck struct {
	check                               func(context.Context) error
	now                                 func() time.Time
	reuse, patience, freshness, timeout time.Duration

	mu      sync.Mutex
	last    error
	lastAt  time.Time // zero until a check finished
	running chan struct{}
}

func (c *cachedCheck) Check(ctx context.Context) error {
	c.mu.Lock()
	if !c.lastAt.IsZero() && c.now().Sub(c.lastAt) < c.reuse {
		defer c.mu.Unlock()
		return c.last
	}
	done := c.running
	if done == nil {
		done = make(chan struct{})
		c.running = done
		go c.refresh(done)
	}
	c.mu.Unlock()

	patience := time.NewTimer(c.patience)
	defer patience.Stop()
	select {
	case <-done:
	case <-patience.C:
	case <-ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.lastAt.IsZero():
		return fmt.Errorf("the first check has not finished after %v", c.patience)
	case c.now().Sub(c.lastAt) >= c.freshness:
		return fmt.Errorf("no check has finished for %v", c.now().Sub(c.lastAt).Round(time.Second))
	}
	return c.last
}

// refresh runs one check and records its result.
func (c *cachedCheck) refresh(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	err := c.check(ctx)
	c.mu.Lock()
	c.last, c.lastAt, c.running = err, c.now(), nil
	c.mu.Unlock()
	close(done)
}
