package tgt

import (
	"context"
	"fmt"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/toolerr"
)

// Readings of tgtd for callers that need less than ListTargets gives. The
// connection listing that sessions come from is per target, so a reading
// with every target's sessions costs one tgtadm call per target with a
// logged-in initiator: on a storage host with many attached volumes, most
// of the reading. A caller that changes one target reads what it needs.

// ListTargetsWithoutSessions is ListTargets without any target's sessions
// (Sessions is nil, which says nothing about whether there are any): the
// target listing read against the driver listing, and the driver listing
// again, whatever the number of sessions. names is a driver listing the
// caller has just read (ListTargetNames), which then serves as the first
// one; nil reads it here. The defence against initiator-chosen text in the
// target listing is ListTargets' own (ParseTargets); the second driver
// listing still catches a target made or removed in between, whose header
// the first did not name.
func (t *Tgt) ListTargetsWithoutSessions(ctx context.Context, names []TargetName) ([]Target, error) {
	return t.listTargets(ctx, "list targets without sessions", false, names)
}

// ListTargetNames is the driver listing alone: every target's tid and IQN,
// and nothing an initiator chose. It answers which tid is which target's.
func (t *Tgt) ListTargetNames(ctx context.Context) ([]TargetName, error) {
	names, err := t.targetNames(ctx, "list target names")
	if err == nil && names == nil {
		// Not nil, so that ListTargetsWithoutSessions takes it as read.
		names = []TargetName{}
	}
	return names, err
}

// TargetSessions reads the sessions of target tid, which the caller knows
// as iqn. The connection listing names no target, so the driver listing
// is read after it: if tid is not iqn's then, the target the caller meant
// is gone (deleted, its tid perhaps reused) and the answer is ErrNotFound,
// never another target's sessions. If tid was iqn's at both readings the
// sessions are iqn's target's, or (should it have been deleted and made
// again in between, by someone else than the caller) of a target of the
// same name made after the connection listing, which has none of them.
func (t *Tgt) TargetSessions(ctx context.Context, tid int, iqn string) ([]Session, error) {
	sessions, err := t.sessions(ctx, tid)
	if err != nil {
		return nil, err
	}
	op := fmt.Sprintf("list the connections of target %d", tid)
	names, err := t.targetNames(ctx, op)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if n.TID == tid && n.IQN == iqn {
			return sessions, nil
		}
	}
	return nil, &toolerr.Error{Tool: tool, Op: op, Kinds: []error{ErrNotFound},
		Err: fmt.Errorf("target %d is no longer %s", tid, iqn)}
}
