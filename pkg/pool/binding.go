package pool

import (
	"context"
	"fmt"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// Every tgtadm call that changes a target names it by tid, but the pool
// knows its targets by IQN: the tid comes from reading tgtd. tgtd's
// listing carries text initiators choose (docs/security.md, "Untrusted
// tool output"); should a reading ever pair a tid with the wrong IQN, a
// LUN "repair" would put one volume's LV behind another volume's target,
// where that target's initiators can read and write it. pkg/tgt reads the
// listing so that this cannot happen; the checks here make sure that a
// reading that is wrong anyway is never acted on.

// checkListing refuses a reading of tgtd that names a tid or an IQN twice:
// tgtd cannot have that, so the reading is wrong and nothing in it can be
// trusted to say which tid is which volume's.
func checkListing(targets []tgt.Target) error {
	tids := map[int]string{}
	iqns := map[string]int{}
	for _, t := range targets {
		if other, dup := tids[t.TID]; dup {
			return fmt.Errorf("tgtd's listing names target id %d twice (%s and %s)", t.TID, other, t.IQN)
		}
		if other, dup := iqns[t.IQN]; dup {
			return fmt.Errorf("tgtd's listing names %s twice (target ids %d and %d)", t.IQN, other, t.TID)
		}
		tids[t.TID], iqns[t.IQN] = t.IQN, t.TID
	}
	return nil
}

// boundTo checks that targets bind tid to iqn and nothing else: exactly
// one target has the tid, it has that IQN, and no other target has it.
func boundTo(targets []tgt.Target, tid int, iqn string) error {
	n := 0
	for _, t := range targets {
		switch {
		case t.TID == tid && t.IQN != iqn:
			return fmt.Errorf("target id %d is %s, not %s", tid, t.IQN, iqn)
		case t.TID == tid:
			n++
		case t.IQN == iqn:
			return fmt.Errorf("%s is also target id %d", iqn, t.TID)
		}
	}
	if n != 1 {
		return fmt.Errorf("target id %d is listed %d times", tid, n)
	}
	return nil
}

// bindingChecks remembers, for one pass under tgtMu, which tids need no
// fresh reading before a destructive change: those created in this pass
// (tgtd accepted the tid and name together) and those already confirmed.
type bindingChecks struct {
	known map[int]bool
}

func (b *bindingChecks) trust(tid int) {
	if b.known == nil {
		b.known = map[int]bool{}
	}
	b.known[tid] = true
}

// guard is called before the pool changes target t, which must be volume
// iqn's. It checks the tid against the reading the pass works from; before
// a destructive change (a LUN deleted, added or refreshed, an initiator
// unbound or disconnected, the target deleted) it also reads tgtd's driver
// listing again, once per tid and pass, and checks the tid there.
func (p *Pool) guard(ctx context.Context, st *tgtState, t *tgt.Target, iqn string, destructive bool) error {
	if t.IQN != iqn {
		return p.refuse(t, iqn, fmt.Errorf("the pool's target is %s", t.IQN))
	}
	if err := boundTo(st.targets, t.TID, iqn); err != nil {
		return p.refuse(t, iqn, err)
	}
	if !destructive || st.checks.known[t.TID] {
		return nil
	}
	// The driver listing alone says which tid is which IQN, and nothing
	// in it is an initiator's: one tgtadm call, however many targets and
	// sessions tgtd has.
	names, err := p.tgt.ListTargetNames(ctx)
	if err != nil {
		return fmt.Errorf("%w: reading tgtd's targets again before changing target %d: %w", ErrUnavailable, t.TID, err)
	}
	fresh := make([]tgt.Target, 0, len(names))
	for _, n := range names {
		fresh = append(fresh, tgt.Target{TID: n.TID, IQN: n.IQN})
	}
	if err := boundTo(fresh, t.TID, iqn); err != nil {
		return p.refuse(t, iqn, fmt.Errorf("read again: %w", err))
	}
	st.checks.trust(t.TID)
	return nil
}

func (p *Pool) refuse(t *tgt.Target, iqn string, why error) error {
	klog.ErrorS(why, "Refusing to change a target whose id does not surely belong to its volume", "tid", t.TID, "iqn", iqn)
	return fmt.Errorf("%w: refusing to change target %d for %s: %w", ErrUnavailable, t.TID, iqn, why)
}
