package tgt

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/toolerr"
)

// listAttempts bounds how often ListTargets reads again when the set of
// targets changed while it was reading (someone else ran tgtadm).
const listAttempts = 3

// errTargetsChanged is a listing taken while targets came or went.
var errTargetsChanged = errors.New("the targets changed while they were being listed")

// ListTargets reads every target tgtd has. tgtd's target listing prints
// initiator-chosen text verbatim (see ParseTargets), so it is read against
// the driver listing, which names the real targets; sessions come from each
// busy target's connection listing, which has no alias. The driver listing
// is read again at the end: if a target came or went in between, the
// reading is thrown away and taken again.
func (t *Tgt) ListTargets(ctx context.Context) ([]Target, error) {
	return t.listTargets(ctx, "list targets", true, nil)
}

// listTargets is ListTargets, with each busy target's sessions read only
// when withSessions; names, when not nil, is a driver listing the caller
// has just read, which serves as the first one (list_partial.go).
func (t *Tgt) listTargets(ctx context.Context, op string, withSessions bool, names []TargetName) ([]Target, error) {
	var err error
	for attempt := 0; attempt < listAttempts; attempt++ {
		var targets []Target
		targets, err = t.listTargetsOnce(ctx, op, withSessions, names)
		if !errors.Is(err, errTargetsChanged) {
			return targets, err
		}
		names = nil // stale: the next attempt reads its own
	}
	return nil, err
}

func (t *Tgt) listTargetsOnce(ctx context.Context, op string, withSessions bool, before []TargetName) ([]Target, error) {
	if before == nil {
		var err error
		if before, err = t.targetNames(ctx, op); err != nil {
			return nil, err
		}
	}
	out, err := t.run(ctx, op, "show", "target")
	if err != nil {
		return nil, err
	}
	targets, busy, err := parseTargets(out, before)
	if err != nil {
		// A target that came or went between the two listings also makes
		// them disagree: then read again rather than fail.
		if after, lldErr := t.targetNames(ctx, op); lldErr == nil && !slices.Equal(before, after) {
			return nil, &toolerr.Error{Tool: tool, Op: op, Err: errTargetsChanged}
		}
		return nil, &toolerr.Error{Tool: tool, Op: op, Err: fmt.Errorf("reading tgtadm's target listing: %w", err)}
	}
	for i := range targets {
		if !withSessions || !busy[i] {
			continue
		}
		if targets[i].Sessions, err = t.sessions(ctx, targets[i].TID); err != nil {
			if errors.Is(err, ErrNotFound) {
				// Deleted since the target listing: read again.
				return nil, &toolerr.Error{Tool: tool, Op: op, Err: errTargetsChanged}
			}
			return nil, err
		}
	}
	after, err := t.targetNames(ctx, op)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(before, after) {
		return nil, &toolerr.Error{Tool: tool, Op: op, Err: errTargetsChanged}
	}
	return targets, nil
}

// targetNames reads which targets exist from the driver listing.
func (t *Tgt) targetNames(ctx context.Context, op string) ([]TargetName, error) {
	out, err := t.run(ctx, op, "show", "lld")
	if err != nil {
		return nil, err
	}
	names, err := ParseTargetNames(out)
	if err != nil {
		return nil, &toolerr.Error{Tool: tool, Op: op, Err: err}
	}
	return names, nil
}

// sessions reads the sessions of target tid from its connection listing.
func (t *Tgt) sessions(ctx context.Context, tid int) ([]Session, error) {
	op := fmt.Sprintf("list the connections of target %d", tid)
	out, err := t.run(ctx, op, "show", "conn", "--tid", itoa(tid))
	if err != nil {
		return nil, err
	}
	sessions, err := ParseConnections(out)
	if err != nil {
		return nil, &toolerr.Error{Tool: tool, Op: op, Err: err}
	}
	return sessions, nil
}
