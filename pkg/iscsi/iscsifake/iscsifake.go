// Package iscsifake is an in-memory iscsi.Initiator for the unit tests of
// packages that log in to volumes (the node plugin): it keeps node records
// and sessions the way iscsiadm would, idempotency included, records what
// was asked of it, and fails on request.
package iscsifake

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
)

// Method names accepted by FailNext.
const (
	Login        = "Login"
	Logout       = "Logout"
	DeleteRecord = "DeleteRecord"
	Sessions     = "Sessions"
	Rescan       = "Rescan"
)

// Node names one node record / session: a target at a portal.
type Node struct {
	Portal, IQN string
}

// Initiator is a fake iscsi.Initiator. The zero value is not usable; use
// New. It is safe for concurrent use.
type Initiator struct {
	mu       sync.Mutex
	records  map[Node]iscsi.Target
	sessions map[Node]iscsi.Session
	nextSID  int
	failures map[string][]error

	logins  []iscsi.Target
	logouts []Node
	deletes []Node
	rescans []int
}

var _ iscsi.Initiator = (*Initiator)(nil)

// New returns an Initiator with no records and no sessions.
func New() *Initiator {
	return &Initiator{
		records:  map[Node]iscsi.Target{},
		sessions: map[Node]iscsi.Session{},
		nextSID:  1,
		failures: map[string][]error{},
	}
}

// FailNext makes the next call of method (Login, Logout, ...) return err
// without doing anything. Calls queue: FailNext twice fails the next two
// calls.
func (f *Initiator) FailNext(method string, err error) {
	switch method {
	case Login, Logout, DeleteRecord, Sessions, Rescan:
	default:
		panic(fmt.Sprintf("iscsifake: FailNext of unknown method %q", method))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[method] = append(f.failures[method], err)
}

// failure pops the error queued for method; call with f.mu held.
func (f *Initiator) failure(method string) error {
	queue := f.failures[method]
	if len(queue) == 0 {
		return nil
	}
	f.failures[method] = queue[1:]
	return queue[0]
}

// Login implements iscsi.Initiator: it writes the record (replacing the
// old one, CHAP included, as iscsiadm -o new does) and opens a session
// unless one is open. It refuses portals and IQNs the real one refuses.
func (f *Initiator) Login(ctx context.Context, t iscsi.Target) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logins = append(f.logins, copyTarget(t))
	if err := f.begin(ctx, Login); err != nil {
		return err
	}
	if !iscsi.ValidPortal(t.Portal) || !iscsi.ValidIQN(t.IQN) {
		return fmt.Errorf("%w: %w: portal %q, IQN %q", iscsi.ErrLoginFailed, iscsi.ErrInvalidArgument, t.Portal, t.IQN)
	}
	n := Node{t.Portal, t.IQN}
	f.records[n] = copyTarget(t)
	if _, ok := f.sessions[n]; !ok {
		f.sessions[n] = iscsi.Session{ID: f.nextSID, Portal: t.Portal, IQN: t.IQN}
		f.nextSID++
	}
	return nil
}

// Logout implements iscsi.Initiator; no session is success.
func (f *Initiator) Logout(ctx context.Context, portal, iqn string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logouts = append(f.logouts, Node{portal, iqn})
	if err := f.begin(ctx, Logout); err != nil {
		return err
	}
	delete(f.sessions, Node{portal, iqn})
	return nil
}

// DeleteRecord implements iscsi.Initiator; no record is success.
func (f *Initiator) DeleteRecord(ctx context.Context, portal, iqn string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes = append(f.deletes, Node{portal, iqn})
	if err := f.begin(ctx, DeleteRecord); err != nil {
		return err
	}
	delete(f.records, Node{portal, iqn})
	return nil
}

// Sessions implements iscsi.Initiator, in session id order.
func (f *Initiator) Sessions(ctx context.Context) ([]iscsi.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, Sessions); err != nil {
		return nil, err
	}
	list := make([]iscsi.Session, 0, len(f.sessions))
	for _, s := range f.sessions {
		list = append(list, s)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	return list, nil
}

// Rescan implements iscsi.Initiator: iscsi.ErrNotFound for a session that
// is not open.
func (f *Initiator) Rescan(ctx context.Context, sessionID int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rescans = append(f.rescans, sessionID)
	if err := f.begin(ctx, Rescan); err != nil {
		return err
	}
	for _, s := range f.sessions {
		if s.ID == sessionID {
			return nil
		}
	}
	return fmt.Errorf("%w: session %d", iscsi.ErrNotFound, sessionID)
}

// begin returns the error a call must fail with, if any: a queued failure
// or the context's end. Call with f.mu held.
func (f *Initiator) begin(ctx context.Context, method string) error {
	if err := f.failure(method); err != nil {
		return err
	}
	return ctx.Err()
}

// AddSession opens a session (and its record) without a Login call, as if
// it had survived a restart of the plugin. It returns the session.
func (f *Initiator) AddSession(portal, iqn string) iscsi.Session {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := Node{portal, iqn}
	if s, ok := f.sessions[n]; ok {
		return s
	}
	if _, ok := f.records[n]; !ok {
		f.records[n] = iscsi.Target{Portal: portal, IQN: iqn}
	}
	s := iscsi.Session{ID: f.nextSID, Portal: portal, IQN: iqn}
	f.nextSID++
	f.sessions[n] = s
	return s
}

// Record returns the node record of iqn at portal, as the last Login
// wrote it.
func (f *Initiator) Record(portal, iqn string) (iscsi.Target, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.records[Node{portal, iqn}]
	return copyTarget(t), ok
}

// LoggedIn reports whether a session to iqn at portal is open.
func (f *Initiator) LoggedIn(portal, iqn string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.sessions[Node{portal, iqn}]
	return ok
}

// Logins returns every Login call's target in order, failed calls
// included.
func (f *Initiator) Logins() []iscsi.Target {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]iscsi.Target, len(f.logins))
	for i, t := range f.logins {
		out[i] = copyTarget(t)
	}
	return out
}

// Logouts returns every Logout call's node in order, failed calls
// included.
func (f *Initiator) Logouts() []Node {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Node(nil), f.logouts...)
}

// Deletes returns every DeleteRecord call's node in order, failed calls
// included.
func (f *Initiator) Deletes() []Node {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Node(nil), f.deletes...)
}

// Rescans returns every Rescan call's session id in order, failed calls
// included.
func (f *Initiator) Rescans() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.rescans...)
}

// copyTarget copies t with its own CHAP, so callers cannot change what the
// fake keeps (or the other way round).
func copyTarget(t iscsi.Target) iscsi.Target {
	if t.CHAP != nil {
		chap := *t.CHAP
		t.CHAP = &chap
	}
	return t
}
