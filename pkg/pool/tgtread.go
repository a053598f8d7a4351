package pool

import (
	"context"
	"fmt"
)

// A publication only adds to a target: its ACL entry, its CHAP account, or
// the whole export when it is the first. What it must know of tgtd's
// accounts is whether the ones it wants exist and are bound, and which
// accounts of the volume are bound that should not be, and the target
// listing shows every target's bound accounts. So Publish reads the
// targets alone (withTgtTargets), one tgtadm listing fewer than withTgt:
//
//   - an account that exists but is bound nowhere (a crash between
//     tgtadm's "new account" and "bind account") is created again, which
//     tgtd refuses as existing: syncAccounts takes that as done, and the
//     account's name fixes its password (chapcreds.go), so it is the
//     right one;
//   - an unbound account of the volume that is no longer wanted stays
//     until the next reconcile, which reads every account; bound nowhere,
//     it lets no one in.
//
// Unpublish, Delete and the reconciler remove accounts and keep the full
// reading (withTgt).

// readTargets is one reading of tgtd's targets, with the accounts known to
// exist (bound to a target) as its account set.
func (p *Pool) readTargets(ctx context.Context) (*tgtState, error) {
	targets, err := p.tgt.ListTargets(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: reading tgtd's targets: %w", ErrUnavailable, err)
	}
	if err := checkListing(targets); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	st := &tgtState{targets: targets, accounts: map[string]bool{}}
	for _, t := range targets {
		for _, a := range t.Accounts {
			st.accounts[a] = true
		}
	}
	return st, nil
}

// withTgtTargets runs fn under tgtMu with a fresh reading of tgtd's
// targets; fn may only add accounts (see above).
func (p *Pool) withTgtTargets(ctx context.Context, fn func(*tgtState) error) error {
	p.tgtMu.Lock()
	defer p.tgtMu.Unlock()
	st, err := p.readTargets(ctx)
	if err != nil {
		return err
	}
	return fn(st)
}
