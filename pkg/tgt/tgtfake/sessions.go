package tgtfake

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// ErrLoginRefused is what Login returns when tgtd would refuse the
// initiator: it is not bound, or CHAP is required and the credentials do
// not match.
var ErrLoginRefused = errors.New("tgtfake: login refused")

// Login logs an initiator in to target tid the way tgtd admits it: its IQN
// must be bound, and when incoming accounts are bound, user and password
// must be one of them. It returns the new session's id.
func (f *Fake) Login(tid int, initiatorIQN, ip, user, password string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.target("login", tid)
	if err != nil {
		return 0, err
	}
	if !slices.Contains(t.InitiatorNames, initiatorIQN) {
		return 0, fmt.Errorf("%w: initiator %s is not allowed on target %d", ErrLoginRefused, initiatorIQN, tid)
	}
	if len(t.Accounts) > 0 && (!slices.Contains(t.Accounts, user) || f.accounts[user] != password) {
		return 0, fmt.Errorf("%w: CHAP authentication failed on target %d", ErrLoginRefused, tid)
	}
	s := tgt.Session{SID: f.nextSID, Initiator: initiatorIQN, Connections: []tgt.Connection{{CID: 0, IP: ip}}}
	f.nextSID++
	t.Sessions = append(t.Sessions, s)
	return s.SID, nil
}

// CloseConnection drops a connection, and the session with its last one.
func (f *Fake) CloseConnection(ctx context.Context, tid, sid, cid int) error {
	defer f.mu.Unlock()
	if err := f.begin("CloseConnection"); err != nil {
		return err
	}
	op := fmt.Sprintf("close connection %d of session %d on target %d", cid, sid, tid)
	t, err := f.target(op, tid)
	if err != nil {
		return err
	}
	si := slices.IndexFunc(t.Sessions, func(s tgt.Session) bool { return s.SID == sid })
	if si < 0 {
		return fail(op, tgt.ErrNotFound)
	}
	s := &t.Sessions[si]
	ci := slices.IndexFunc(s.Connections, func(c tgt.Connection) bool { return c.CID == cid })
	if ci < 0 {
		return fail(op, tgt.ErrNotFound)
	}
	s.Connections = slices.Delete(s.Connections, ci, ci+1)
	if len(s.Connections) == 0 {
		t.Sessions = slices.Delete(t.Sessions, si, si+1)
	}
	return nil
}
