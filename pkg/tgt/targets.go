package tgt

import (
	"context"
	"fmt"
)

// CreateTarget creates target tid named iqn. It accepts no initiator until
// one is bound.
func (t *Tgt) CreateTarget(ctx context.Context, tid int, iqn string) error {
	op := fmt.Sprintf("create target %d %s", tid, iqn)
	if err := checkTID(op, tid); err != nil {
		return err
	}
	if err := checkIQN(op, "target name", iqn); err != nil {
		return err
	}
	_, err := t.run(ctx, op, "new", "target", "--tid", itoa(tid), "--targetname", iqn)
	return err
}

// DeleteTarget deletes target tid with --force, which tgtd needs while any
// initiator is still logged in; its LUNs and bindings go with it.
func (t *Tgt) DeleteTarget(ctx context.Context, tid int) error {
	op := fmt.Sprintf("delete target %d", tid)
	if err := checkTID(op, tid); err != nil {
		return err
	}
	_, err := t.run(ctx, op, "delete", "target", "--force", "--tid", itoa(tid))
	return err
}

// Target states tgtd knows (SetTargetState, Target.State).
const (
	StateReady   = "ready"
	StateOffline = "offline"
)

// SetTargetState sets target tid ready or offline. An offline target
// refuses logins (a retryable target error, so initiators try again) and
// drops the commands of sessions still connected, which only a closed
// connection makes the initiator send again: callers take a target offline
// to close its connections and keep them closed.
func (t *Tgt) SetTargetState(ctx context.Context, tid int, state string) error {
	op := fmt.Sprintf("set target %d %s", tid, state)
	if err := checkTID(op, tid); err != nil {
		return err
	}
	if state != StateReady && state != StateOffline {
		return invalid(op, "state %q is neither %s nor %s", state, StateReady, StateOffline)
	}
	_, err := t.run(ctx, op, "update", "target", "--tid", itoa(tid), "--name", "state", "--value", state)
	return err
}

// BindInitiator lets the initiator named initiatorIQN log in to target tid.
func (t *Tgt) BindInitiator(ctx context.Context, tid int, initiatorIQN string) error {
	return t.initiatorACL(ctx, "bind", tid, initiatorIQN)
}

// UnbindInitiator withdraws BindInitiator. Sessions already logged in stay
// until closed with CloseConnection.
func (t *Tgt) UnbindInitiator(ctx context.Context, tid int, initiatorIQN string) error {
	return t.initiatorACL(ctx, "unbind", tid, initiatorIQN)
}

func (t *Tgt) initiatorACL(ctx context.Context, verb string, tid int, initiatorIQN string) error {
	op := fmt.Sprintf("%s initiator %s to target %d", verb, initiatorIQN, tid)
	if err := checkTID(op, tid); err != nil {
		return err
	}
	if err := checkIQN(op, "initiator name", initiatorIQN); err != nil {
		return err
	}
	if isAddressACL(initiatorIQN) {
		// It would be listed back as an address ACL.
		return invalid(op, "initiator name %q looks like an address", initiatorIQN)
	}
	_, err := t.run(ctx, op, verb, "target", "--tid", itoa(tid), "--initiator-name", initiatorIQN)
	return err
}

// CloseConnection drops connection cid of session sid on target tid. The
// initiator will try to log in again: unbind it first.
func (t *Tgt) CloseConnection(ctx context.Context, tid, sid, cid int) error {
	op := fmt.Sprintf("close connection %d of session %d on target %d", cid, sid, tid)
	if err := checkTID(op, tid); err != nil {
		return err
	}
	if sid < 0 || cid < 0 {
		return invalid(op, "negative session or connection id")
	}
	_, err := t.run(ctx, op, "delete", "connection", "--tid", itoa(tid), "--sid", itoa(sid), "--cid", itoa(cid))
	return err
}
