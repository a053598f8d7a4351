package pool

import (
	"fmt"
	"sync"
	"time"
)

// thinClaims make the thin pool's overprovisioning allowance hold for
// calls that run at the same time. Each call checks the allowance against
// a listing (report.go), and two calls that read the VG before either had
// made its LV both saw the room of one: a burst of thin volumes could be
// promised past the ratio the administrator set. Now a call that passes
// the check claims what it takes, under one lock with the check, until its
// lvm command ends; a check adds to the listing's own sum every claim the
// listing may not show:
//
//   - a claim whose command is still running, and
//   - a claim whose command ended after the listing's lvs started (what
//     lvm had committed when an lvs started is in it, nothing later is),
//
// counting for each only what the listing does not already show of its LV
// (nothing when the LV is there at the claimed size; a growth's increase
// when the LV is there at its old size), so nothing is counted twice.
//
// An ended claim is kept for claimHold, far longer than any call takes
// from its lvs to its check, and then dropped: every listing started
// since shows its LV, or shows that it is gone.
type thinClaims struct {
	mu   sync.Mutex
	byLV map[string]*thinClaim
}

// thinClaim is the virtual size LV lv will have once the claiming command
// ends; ended is zero while it runs.
type thinClaim struct {
	size  uint64
	ended time.Time
}

// claimHold is how long an ended claim is still counted.
const claimHold = 10 * time.Minute

// claimThin checks that thin LV lv may be made (or grow to) size within the
// allowance, counting what r does not show of the other claims, and claims
// it. end must be called when the lvm command that makes it has returned:
// with false when it failed (the claim goes at once), true when it made it.
func (p *Pool) claimThin(r *lvReport, lv string, size uint64) (end func(made bool), err error) {
	c := &p.thin
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	var unseen uint64
	for name, cl := range c.byLV {
		switch {
		case !cl.ended.IsZero() && now.Sub(cl.ended) > claimHold:
			delete(c.byLV, name)
		case name == lv:
			// An earlier claim of the same LV (a retry): this one replaces it.
		case cl.ended.IsZero() || cl.ended.After(r.started):
			unseen += sizeNotIn(r, name, cl.size)
		}
	}
	if err := p.checkThinRoomIn(r, sizeNotIn(r, lv, size), unseen); err != nil {
		return nil, err
	}
	if c.byLV == nil {
		c.byLV = map[string]*thinClaim{}
	}
	cl := &thinClaim{size: size}
	c.byLV[lv] = cl
	return func(made bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.byLV[lv] != cl {
			return // replaced by a later claim of the same LV
		}
		if made {
			cl.ended = time.Now()
		} else {
			delete(c.byLV, lv)
		}
	}, nil
}

// sizeNotIn is how much of virtual size size r does not show of LV lv.
func sizeNotIn(r *lvReport, lv string, size uint64) uint64 {
	var shown uint64
	if l := r.lv(lv); l != nil {
		shown = l.Size
	}
	if size <= shown {
		return 0
	}
	return size - shown
}

// claimedText says, in a refusal, how much of the allowance calls under
// way hold.
func claimedText(unseen uint64) string {
	if unseen == 0 {
		return ""
	}
	return fmt.Sprintf(", %d of them held by volumes being made", unseen)
}
