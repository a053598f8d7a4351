package tgtfake

import (
	"context"
	"fmt"
	"slices"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// BindInitiator allows an initiator IQN in; ErrExists if it already is.
func (f *Fake) BindInitiator(ctx context.Context, tid int, initiatorIQN string) error {
	defer f.mu.Unlock()
	if err := f.begin("BindInitiator"); err != nil {
		return err
	}
	op := fmt.Sprintf("bind initiator %s to target %d", initiatorIQN, tid)
	if initiatorIQN == "" {
		return fail(op, tgt.ErrInvalid)
	}
	t, err := f.target(op, tid)
	if err != nil {
		return err
	}
	if slices.Contains(t.InitiatorNames, initiatorIQN) {
		return fail(op, tgt.ErrExists)
	}
	t.InitiatorNames = append(t.InitiatorNames, initiatorIQN)
	return nil
}

// UnbindInitiator withdraws a binding; sessions stay, as in tgtd.
func (f *Fake) UnbindInitiator(ctx context.Context, tid int, initiatorIQN string) error {
	defer f.mu.Unlock()
	if err := f.begin("UnbindInitiator"); err != nil {
		return err
	}
	op := fmt.Sprintf("unbind initiator %s from target %d", initiatorIQN, tid)
	t, err := f.target(op, tid)
	if err != nil {
		return err
	}
	i := slices.Index(t.InitiatorNames, initiatorIQN)
	if i < 0 {
		return fail(op, tgt.ErrNotFound)
	}
	t.InitiatorNames = slices.Delete(t.InitiatorNames, i, i+1)
	return nil
}

// ListAccounts returns every account, sorted.
func (f *Fake) ListAccounts(ctx context.Context) ([]string, error) {
	defer f.mu.Unlock()
	if err := f.begin("ListAccounts"); err != nil {
		return nil, err
	}
	var users []string
	for user := range f.accounts {
		users = append(users, user)
	}
	slices.Sort(users)
	return users, nil
}

// CreateAccount adds an account; ErrExists if the user is taken.
func (f *Fake) CreateAccount(ctx context.Context, user, password string) error {
	defer f.mu.Unlock()
	if err := f.begin("CreateAccount"); err != nil {
		return err
	}
	op := "create account " + user
	if user == "" || password == "" {
		return fail(op, tgt.ErrInvalid)
	}
	if _, ok := f.accounts[user]; ok {
		return fail(op, tgt.ErrExists)
	}
	f.accounts[user] = password
	return nil
}

// Password returns an account's password, for tests that check what the
// code under test set (tgtadm itself never shows it).
func (f *Fake) Password(user string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.accounts[user]
	return p, ok
}

// DeleteAccount removes an account and, as tgtd does, every binding of it.
func (f *Fake) DeleteAccount(ctx context.Context, user string) error {
	defer f.mu.Unlock()
	if err := f.begin("DeleteAccount"); err != nil {
		return err
	}
	if _, ok := f.accounts[user]; !ok {
		return fail("delete account "+user, tgt.ErrNotFound)
	}
	delete(f.accounts, user)
	for _, t := range f.targets {
		t.Accounts = slices.DeleteFunc(t.Accounts, func(u string) bool { return u == user })
	}
	return nil
}

// BindAccount binds an incoming account; ErrExists if already bound.
func (f *Fake) BindAccount(ctx context.Context, tid int, user string) error {
	defer f.mu.Unlock()
	if err := f.begin("BindAccount"); err != nil {
		return err
	}
	t, err := f.accountTarget(fmt.Sprintf("bind account %s to target %d", user, tid), tid, user)
	if err != nil {
		return err
	}
	if slices.Contains(t.Accounts, user) {
		return fail(fmt.Sprintf("bind account %s to target %d", user, tid), tgt.ErrExists)
	}
	t.Accounts = append(t.Accounts, user)
	return nil
}

// accountTarget checks, in tgtd's order, that the target and the account
// exist.
func (f *Fake) accountTarget(op string, tid int, user string) (*tgt.Target, error) {
	t, err := f.target(op, tid)
	if err != nil {
		return nil, err
	}
	if _, ok := f.accounts[user]; !ok {
		return nil, fail(op, tgt.ErrNotFound)
	}
	return t, nil
}
