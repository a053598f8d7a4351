package tgt

import (
	"context"
	"fmt"
)

// maxAccountNameLen bounds CHAP user names; tgt has no limit of its own but
// initiators keep the name in fixed buffers (open-iscsi: 256 bytes).
const maxAccountNameLen = 255

// ListAccounts returns every CHAP account tgtd knows, bound or not.
func (t *Tgt) ListAccounts(ctx context.Context) ([]string, error) {
	out, err := t.run(ctx, "list accounts", "show", "account")
	if err != nil {
		return nil, err
	}
	return ParseAccounts(out), nil
}

// CreateAccount adds a CHAP account. The password is masked in logs and
// errors.
func (t *Tgt) CreateAccount(ctx context.Context, user, password string) error {
	op := "create account " + user
	if err := checkToken(op, "user", user, maxAccountNameLen); err != nil {
		return err
	}
	if err := checkPassword(op, password); err != nil {
		return err
	}
	return t.runSecret(ctx, password, op, "new", "account", "--user", user, "--password", password)
}

// DeleteAccount removes a CHAP account; tgtd unbinds it from every target.
func (t *Tgt) DeleteAccount(ctx context.Context, user string) error {
	op := "delete account " + user
	if err := checkToken(op, "user", user, maxAccountNameLen); err != nil {
		return err
	}
	_, err := t.run(ctx, op, "delete", "account", "--user", user)
	return err
}

// BindAccount makes initiators of target tid authenticate as user (one of
// possibly several incoming accounts).
func (t *Tgt) BindAccount(ctx context.Context, tid int, user string) error {
	return t.accountBinding(ctx, "bind", tid, user, false)
}

// BindOutgoingAccount makes target tid authenticate itself to initiators as
// user (mutual CHAP). A target has at most one: ErrExists otherwise.
func (t *Tgt) BindOutgoingAccount(ctx context.Context, tid int, user string) error {
	return t.accountBinding(ctx, "bind", tid, user, true)
}

// UnbindAccount withdraws BindAccount.
func (t *Tgt) UnbindAccount(ctx context.Context, tid int, user string) error {
	return t.accountBinding(ctx, "unbind", tid, user, false)
}

// UnbindOutgoingAccount withdraws BindOutgoingAccount.
func (t *Tgt) UnbindOutgoingAccount(ctx context.Context, tid int, user string) error {
	return t.accountBinding(ctx, "unbind", tid, user, true)
}

func (t *Tgt) accountBinding(ctx context.Context, verb string, tid int, user string, outgoing bool) error {
	direction := "incoming"
	if outgoing {
		direction = "outgoing"
	}
	op := fmt.Sprintf("%s %s account %s to target %d", verb, direction, user, tid)
	if err := checkTID(op, tid); err != nil {
		return err
	}
	if err := checkToken(op, "user", user, maxAccountNameLen); err != nil {
		return err
	}
	args := []string{"--tid", itoa(tid), "--user", user}
	if outgoing {
		args = append(args, "--outgoing")
	}
	_, err := t.run(ctx, op, verb, "account", args...)
	return err
}
