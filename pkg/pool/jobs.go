package pool

import (
	"context"
	"sync"

	"k8s.io/klog/v2"
)

// jobs runs long data work (filling a clone) detached from the RPC that
// asked for it: a CO's call times out long before a large copy is done, and
// its retry must find the copy still going rather than start it again.
type jobs struct {
	mu      sync.Mutex
	running map[string]*job
	// finished counts finished jobs by kind and result (jobs_stats.go).
	finished map[[2]string]uint64
}

type job struct {
	done    chan struct{}
	err     error
	waiting int // calls waiting for it now (under jobs.mu)
}

func newJobs() *jobs { return &jobs{running: map[string]*job{}} }

// deleteJob is the job key of wiping and removing LV name: DeleteVolume,
// DeleteSnapshot, their retries and the reconciler share it.
func deleteJob(name string) string { return "delete\x00" + name }

// run starts fn for key unless it is already running, then waits for it
// until ctx ends. It returns fn's error, or ErrInProgress when ctx ended
// first (fn goes on; a later call with the same key waits for it again).
func (j *jobs) run(ctx context.Context, key string, fn func(context.Context) error) error {
	j.mu.Lock()
	jb, _ := j.launch(ctx, key, fn)
	jb.waiting++
	j.mu.Unlock()
	defer func() {
		j.mu.Lock()
		jb.waiting--
		j.mu.Unlock()
	}()
	select {
	case <-jb.done:
		return jb.err
	case <-ctx.Done():
		return ErrInProgress
	}
}

// start starts fn for key unless it is already running, and returns at
// once. No caller waits for the result, so a failure is logged (what names
// the work); whoever finds the work unfinished next starts it again. It
// reports whether fn was started (false: it was running already).
func (j *jobs) start(ctx context.Context, key, what string, fn func(context.Context) error) bool {
	j.mu.Lock()
	jb, started := j.launch(ctx, key, fn)
	j.mu.Unlock()
	if !started {
		return false
	}
	go func() {
		<-jb.done
		if jb.err != nil {
			klog.ErrorS(jb.err, "Unfinished work failed; the reconciler will try again", "work", what)
		}
	}()
	return true
}

// launch returns the job running for key, starting fn as that job when
// there is none. The caller holds j.mu.
func (j *jobs) launch(ctx context.Context, key string, fn func(context.Context) error) (_ *job, started bool) {
	if jb, ok := j.running[key]; ok {
		return jb, false
	}
	jb := &job{done: make(chan struct{})}
	j.running[key] = jb
	go func() {
		// The work outlives the request on purpose; it is bounded by
		// the commands' own timeouts.
		jb.err = fn(context.WithoutCancel(ctx))
		j.mu.Lock()
		delete(j.running, key)
		j.countFinished(key, jb.err)
		j.mu.Unlock()
		close(jb.done)
	}()
	return jb, true
}

// busy reports whether work for key is running.
func (j *jobs) busy(key string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, ok := j.running[key]
	return ok
}
