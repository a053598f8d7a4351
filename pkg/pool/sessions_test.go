package pool

import (
	"testing"
)

// A call that changes one export reads its target's sessions when it needs
// them (sessions.go): an unpublish of one node of a shared volume still
// closes the session of an initiator that is published nowhere (a login
// that completed after its fencing), and leaves the others' alone.
func TestUnpublishClosesStraySessionsOfItsTarget(t *testing.T) {
	e := newEnv(t, false)
	v, tg := e.sharedAB(t)
	stray := "iqn.1993-08.org.debian:01:cccc"
	e.lateLogin(t, tg.TID, stray)()
	if err := e.pool.Unpublish(e.ctx, v.ID, nodeB.ID); err != nil {
		t.Fatal(err)
	}
	for initiator, want := range map[string]int{stray: 0, nodeB.Initiator: 0, nodeA.Initiator: 1} {
		if s := e.sessionsOf(t, v.ID, initiator); len(s) != want {
			t.Errorf("%s has sessions %+v after the unpublish of node B, want %d", initiator, s, want)
		}
	}
}

// Publish reads no sessions: a stray session is left to the next
// reconcile (or unpublish), which closes it; the publication itself works.
func TestPublishLeavesStraySessionsToTheReconciler(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "pvc-1", 8*mib, Thick)
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, true); err != nil {
		t.Fatal(err)
	}
	stray := "iqn.1993-08.org.debian:01:cccc"
	e.lateLogin(t, e.target(t, v.ID).TID, stray)()
	calls := len(e.tgt.Calls())
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeB, true); err != nil {
		t.Fatal(err)
	}
	for _, c := range e.tgt.Calls()[calls:] {
		if c == "ListTargets" || c == "TargetSessions" {
			t.Errorf("publishing read sessions (%s)", c)
		}
	}
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	if s := e.sessionsOf(t, v.ID, stray); len(s) != 0 {
		t.Errorf("the stray session survived a reconcile: %+v", s)
	}
}
