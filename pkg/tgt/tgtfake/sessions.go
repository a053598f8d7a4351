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

// Login logs an initiator in to target tid the way tgtd admits it: the
// target must be ready, its IQN bound, and when incoming accounts are
// bound, user and password must be one of them. It returns the new session's id.
func (f *Fake) Login(tid int, initiatorIQN, ip, user, password string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.target("login", tid)
	if err != nil {
		return 0, err
	}
	if t.State == tgt.StateOffline {
		return 0, fmt.Errorf("%w: target %d is offline", ErrLoginRefused, tid)
	}
	if !slices.Contains(t.InitiatorNames, initiatorIQN) {
		return 0, fmt.Errorf("%w: initiator %s is not allowed on target %d", ErrLoginRefused, initiatorIQN, tid)
	}
	if len(t.Accounts) > 0 && (!slices.Contains(t.Accounts, user) || f.accounts[user] != password) {
		return 0, fmt.Errorf("%w: CHAP authentication failed on target %d", ErrLoginRefused, tid)
	}
	return f.addSession(t, tgt.Session{Initiator: initiatorIQN, Connections: []tgt.Connection{{CID: 0, IP: ip}}}), nil
}

// AddSession puts a session on target tid without any check, for tests
// that need a state Login cannot reach (a login that completes while an
// unbind is under way). A zero SID is replaced by the next free one; the
// SID used is returned.
func (f *Fake) AddSession(tid int, s tgt.Session) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.target("add session", tid)
	if err != nil {
		return 0, err
	}
	return f.addSession(t, s), nil
}

func (f *Fake) addSession(t *tgt.Target, s tgt.Session) int {
	if s.SID == 0 {
		s.SID = f.nextSID
	}
	f.nextSID = max(f.nextSID, s.SID) + 1
	s.Connections = slices.Clone(s.Connections)
	t.Sessions = append(t.Sessions, s)
	return s.SID
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
