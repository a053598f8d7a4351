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
