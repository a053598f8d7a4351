package pool

import (
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// sessionsOf lists the sessions initiator has on the volume's target.
func (e *env) sessionsOf(t *testing.T, id, initiator string) []tgt.Session {
	t.Helper()
	tg := e.target(t, id)
	if tg == nil {
		return nil
	}
	var out []tgt.Session
	for _, s := range tg.Sessions {
		if s.Initiator == initiator {
			out = append(out, s)
		}
	}
	return out
}

// sharedAB publishes a new shared volume to nodes A and B, both logged in.
func (e *env) sharedAB(t *testing.T) (Volume, *tgt.Target) {
	t.Helper()
	v := e.create(t, "pvc-shared", 8*mib, Thick)
	exp, err := e.pool.Publish(e.ctx, v.ID, nodeA, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeB, true); err != nil {
		t.Fatal(err)
	}
	tg := e.target(t, v.ID)
	for _, n := range []Node{nodeA, nodeB} {
		if _, err := e.tgt.Login(tg.TID, n.Initiator, "192.0.2.2", exp.CHAP.User, exp.CHAP.Password); err != nil {
			t.Fatal(err)
		}
	}
	return v, tg
}

// lateLogin is a login of initiator that tgtd admitted (it checks the ACL on
// the first login PDU only) and that completes later, whatever the ACL says
// by then.
func (e *env) lateLogin(t *testing.T, tid int, initiator string) func() {
	return func() {
		if _, err := e.tgt.AddSession(tid, tgt.Session{Initiator: initiator, Connections: []tgt.Connection{{CID: 0, IP: "192.0.2.2"}}}); err != nil {
			t.Error(err)
		}
	}
}

// A node of a shared volume is unpublished while one of its logins is
// under way: whether the login completes just before the unbind or just
// after it, before the old connections are closed, no session of the node
// survives the unpublish, and the other node keeps its own.
func TestUnpublishClosesLoginsThatCompleteDuringTheUnbind(t *testing.T) {
	for _, before := range []string{"UnbindInitiator", "CloseConnection"} {
		t.Run("login completes before "+before, func(t *testing.T) {
			e := newEnv(t, false)
			v, tg := e.sharedAB(t)
			e.tgt.BeforeNext(before, e.lateLogin(t, tg.TID, nodeA.Initiator))
			if err := e.pool.Unpublish(e.ctx, v.ID, nodeA.ID); err != nil {
				t.Fatal(err)
			}
			if s := e.sessionsOf(t, v.ID, nodeA.Initiator); len(s) != 0 {
				t.Fatalf("node A still has sessions after its unpublish: %+v", s)
			}
			if s := e.sessionsOf(t, v.ID, nodeB.Initiator); len(s) != 1 {
				t.Fatalf("node B's sessions = %+v, want its one session untouched", s)
			}
		})
	}
}

// An initiator that logs in again after every close cannot keep the
// unpublish busy forever: it fails (the CO retries) instead of looping.
func TestUnpublishGivesUpOnAnInitiatorThatKeepsLoggingIn(t *testing.T) {
	e := newEnv(t, false)
	v, tg := e.sharedAB(t)
	var again func()
	again = func() {
		e.lateLogin(t, tg.TID, nodeA.Initiator)()
		e.tgt.BeforeNext("CloseConnection", again)
	}
	e.tgt.BeforeNext("CloseConnection", again)
	err := e.pool.Unpublish(e.ctx, v.ID, nodeA.ID)
	if err == nil {
		t.Fatal("Unpublish succeeded while node A kept a session")
	}
	t.Logf("error: %v", err)
	if got, _ := e.pool.Get(e.ctx, v.ID); len(got.Nodes) != 1 || got.Nodes[0] != nodeB {
		t.Fatalf("recorded nodes = %+v, want B only (the unpublish is recorded before tgtd is touched)", got.Nodes)
	}
}

// A login that completes after the unpublish is over (held half-way
// through, then finished) is closed by the next reconcile, although its
// initiator is no longer bound to the target.
func TestReconcileClosesSessionsOfUnpublishedInitiators(t *testing.T) {
	e := newEnv(t, false)
	v, tg := e.sharedAB(t)
	if err := e.pool.Unpublish(e.ctx, v.ID, nodeA.ID); err != nil {
		t.Fatal(err)
	}
	e.lateLogin(t, tg.TID, nodeA.Initiator)()
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	if s := e.sessionsOf(t, v.ID, nodeA.Initiator); len(s) != 0 {
		t.Fatalf("node A's late session survived a reconcile: %+v", s)
	}
	if s := e.sessionsOf(t, v.ID, nodeB.Initiator); len(s) != 1 {
		t.Fatalf("node B's sessions = %+v, want its one session untouched", s)
	}
}
