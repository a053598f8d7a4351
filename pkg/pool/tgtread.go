package pool

import (
	"context"
	"fmt"
	"slices"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// A call that changes one volume's export (publish, unpublish, delete, a
// refresh after an expansion) reads of tgtd only what that change needs,
// each reading because something depends on it (issue 15):
//
//   - the driver listing (tgtadm show lld, names only, nothing an
//     initiator chose): whether the volume has a target, and which tids
//     are taken, for a new target's (tgt.FreeTID). For a volume without
//     one this is the whole reading of targets: none of its accounts is
//     bound anywhere (the driver binds a volume's accounts to its own
//     target only), and no other target is touched.
//   - when the volume has a target, the target listing, read against that
//     driver listing and checked by it again (pkg/tgt list_partial.go):
//     the target's LUN, its ACL and its bound accounts, which the change
//     compares with the tags. No sessions: ListTargets reads them with one
//     tgtadm call per busy target of the host; a step that needs a
//     target's reads that target's alone (sessions.go).
//   - the account listing, for the calls that remove accounts (unpublish,
//     delete, refresh), since an account bound nowhere is seen only there.
//
// Publish does without the account listing, as it only adds. An account
// that exists but is bound nowhere (a crash between tgtadm's "new account"
// and "bind account") is created again, which tgtd refuses as existing:
// syncAccounts takes that as done, and the account's name fixes its
// password (chapcreds.go), so it is the right one. An unbound account of
// the volume that is no longer wanted stays until the next reconcile,
// which reads every account; bound nowhere, it lets no one in.
//
// The reconciler changes every export and keeps the full reading (withTgt).

// readTgtFor is one reading of tgtd for a change of volume id's export;
// withAccounts adds the account listing. The accounts bound to the targets
// read are known to exist.
func (p *Pool) readTgtFor(ctx context.Context, id string, withAccounts bool, sessions sessionsRead) (*tgtState, error) {
	names, err := p.tgt.ListTargetNames(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: reading tgtd's targets: %w", ErrUnavailable, err)
	}
	var targets []tgt.Target
	iqn := p.IQN(id)
	if slices.ContainsFunc(names, func(n tgt.TargetName) bool { return n.IQN == iqn }) {
		if targets, err = p.tgt.ListTargetsWithoutSessions(ctx, names); err != nil {
			return nil, fmt.Errorf("%w: reading tgtd's targets: %w", ErrUnavailable, err)
		}
	} else {
		// Nothing but tids and names is needed of the other targets.
		for _, n := range names {
			targets = append(targets, tgt.Target{TID: n.TID, IQN: n.IQN})
		}
	}
	st, err := newTgtState(targets, sessions)
	if err != nil {
		return nil, err
	}
	if withAccounts {
		if err := p.readAccounts(ctx, st); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// newTgtState checks a reading of the targets (binding.go) and notes the
// accounts bound to them as existing.
func newTgtState(targets []tgt.Target, sessions sessionsRead) (*tgtState, error) {
	if err := checkListing(targets); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	st := &tgtState{targets: targets, accounts: map[string]bool{}, sessions: sessions}
	for _, t := range targets {
		for _, a := range t.Accounts {
			st.accounts[a] = true
		}
	}
	return st, nil
}

// readAccounts adds every account tgtd has to st's.
func (p *Pool) readAccounts(ctx context.Context, st *tgtState) error {
	accounts, err := p.tgt.ListAccounts(ctx)
	if err != nil {
		return fmt.Errorf("%w: reading tgtd's accounts: %w", ErrUnavailable, err)
	}
	for _, a := range accounts {
		st.accounts[a] = true
	}
	return nil
}

// withTgtFor runs fn, a change of volume id's export that may remove
// accounts, under tgtMu with a fresh reading of what it needs; a target's
// sessions are read when a step needs them.
func (p *Pool) withTgtFor(ctx context.Context, id string, fn func(*tgtState) error) error {
	p.tgtMu.Lock()
	defer p.tgtMu.Unlock()
	st, err := p.readTgtFor(ctx, id, true, sessionsOnDemand)
	if err != nil {
		return err
	}
	return fn(st)
}

// withTgtTargets runs fn, a publication of volume id, under tgtMu with a
// fresh reading of its targets; fn may only add accounts (see above) and
// reads no sessions (sessions.go).
func (p *Pool) withTgtTargets(ctx context.Context, id string, fn func(*tgtState) error) error {
	p.tgtMu.Lock()
	defer p.tgtMu.Unlock()
	st, err := p.readTgtFor(ctx, id, false, sessionsUnneeded)
	if err != nil {
		return err
	}
	return fn(st)
}
