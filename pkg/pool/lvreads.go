package pool

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// sharedReads lets calls that need a listing of the volume group at the
// same time share one lvs, without any of them getting an older reading
// than an lvs of its own would have given: a call joins a read that has
// not started yet, never one already running.
//
// Up to concurrentReads reads run at once, as before (lvm's reads share
// the VG's lock). A call that finds that many running and none waiting
// queues a new one; the calls arriving after it join that one, which
// starts when a running read ends and serves all of them. So a burst of N
// calls costs a few lvs instead of N.
//
// This is what a burst of CreateVolume and ControllerPublishVolume calls
// spent its time on (issue 15): each call reads the VG once (report.go),
// every lvm command reads the whole metadata and lvm runs the writes one
// at a time, so fifty calls queued fifty reads behind each other and
// behind the writes.
//
// A read runs detached from the context of the call that queued it, and
// calls wait for their read whatever their context says: a call that gave
// up must not fail the others that share its read, and the read ends
// within the lvm runner's timeout. A call whose context has ended then
// fails at its next command, as it did before.
type sharedReads struct {
	mu      sync.Mutex
	next    *sharedRead // the read the next callers join; nil: none queued
	running int         // goroutines serving reads
}

// concurrentReads is how many lvs run at once before calls share: two
// calls at once read side by side as they did on their own.
const concurrentReads = 2

// sharedRead is one lvs and its outcome, for everyone who joined it.
type sharedRead struct {
	done    chan struct{}
	started time.Time // when the lvs was started
	callers int       // how many calls it serves
	lvs     []lvm.LV
	err     error
}

// read returns a listing of the volume group that started after read was
// called, and when it started; every caller gets its own copy to change.
func (s *sharedReads) read(ctx context.Context, list func(context.Context) ([]lvm.LV, error)) ([]lvm.LV, time.Time, error) {
	s.mu.Lock()
	r := s.next
	if r == nil {
		// A new read: served by a new goroutine if there is room for one,
		// else by the first running one to end (serve loops).
		r = &sharedRead{done: make(chan struct{})}
		s.next = r
		if s.running < concurrentReads {
			s.running++
			go s.serve(context.WithoutCancel(ctx), list)
		}
	}
	r.callers++
	s.mu.Unlock()
	<-r.done
	return cloneLVs(r.lvs), r.started, r.err
}

// serve runs queued reads one after the other until none is left.
func (s *sharedReads) serve(ctx context.Context, list func(context.Context) ([]lvm.LV, error)) {
	for {
		s.mu.Lock()
		r := s.next
		if r == nil {
			s.running--
			s.mu.Unlock()
			return
		}
		s.next = nil
		s.mu.Unlock()
		r.started = time.Now()
		r.lvs, r.err = list(ctx)
		close(r.done)
	}
}

// cloneLVs copies a listing deep enough that a caller may change an LV's
// tags (report.go records its own tag changes in its report).
func cloneLVs(lvs []lvm.LV) []lvm.LV {
	if lvs == nil {
		return nil
	}
	out := slices.Clone(lvs)
	for i := range out {
		out[i].Tags = slices.Clone(out[i].Tags)
	}
	return out
}

// listLVs lists every LV of the volume group through the shared reads.
func (p *Pool) listLVs(ctx context.Context) ([]lvm.LV, time.Time, error) {
	return p.reads.read(ctx, func(ctx context.Context) ([]lvm.LV, error) {
		return p.lvm.ListLVs(ctx, p.cfg.VolumeGroup)
	})
}
