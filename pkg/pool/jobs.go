package pool

import (
	"context"
	"sync"
)

// jobs runs long data work (filling a clone) detached from the RPC that
// asked for it: a CO's call times out long before a large copy is done, and
// its retry must find the copy still going rather than start it again.
type jobs struct {
	mu      sync.Mutex
	running map[string]*job
}

type job struct {
	done chan struct{}
	err  error
}

func newJobs() *jobs { return &jobs{running: map[string]*job{}} }

// run starts fn for key unless it is already running, then waits for it
// until ctx ends. It returns fn's error, or ErrInProgress when ctx ended
// first (fn goes on; a later call with the same key waits for it again).
func (j *jobs) run(ctx context.Context, key string, fn func(context.Context) error) error {
	j.mu.Lock()
	jb, ok := j.running[key]
	if !ok {
		jb = &job{done: make(chan struct{})}
		j.running[key] = jb
		go func() {
			// The work outlives the request on purpose; it is bounded by
			// the commands' own timeouts.
			jb.err = fn(context.WithoutCancel(ctx))
			j.mu.Lock()
			delete(j.running, key)
			j.mu.Unlock()
			close(jb.done)
		}()
	}
	j.mu.Unlock()
	select {
	case <-jb.done:
		return jb.err
	case <-ctx.Done():
		return ErrInProgress
	}
}

// busy reports whether work for key is running.
func (j *jobs) busy(key string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, ok := j.running[key]
	return ok
}
