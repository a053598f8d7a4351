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
// possibly several incoming accounts). DeleteAccount undoes it: tgtd
// unbinds a deleted account from every target.
func (t *Tgt) BindAccount(ctx context.Context, tid int, user string) error {
	op := fmt.Sprintf("bind account %s to target %d", user, tid)
	if err := checkTID(op, tid); err != nil {
		return err
	}
	if err := checkToken(op, "user", user, maxAccountNameLen); err != nil {
		return err
	}
	_, err := t.run(ctx, op, "bind", "account", "--tid", itoa(tid), "--user", user)
	return err
}
