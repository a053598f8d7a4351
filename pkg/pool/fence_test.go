package pool

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm/lvmfake"
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

// A machine cloned from node A (or node A renamed) reports A's initiator
// name under another node id. Its target ACL entry would be A's, so each
// would reach the other's volumes: the publish is refused, naming both
// nodes, and changes nothing, until A has no publication left.
func TestPublishRefusesAnInitiatorRecordedForAnotherNode(t *testing.T) {
	for _, tc := range []struct {
		name  string
		other Node
	}{
		{"cloned machine", Node{ID: "node-c/" + nodeA.Initiator, Initiator: nodeA.Initiator}},
		{"renamed node", Node{ID: "node-a-new/" + nodeA.Initiator, Initiator: nodeA.Initiator}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, false)
			v1 := e.create(t, "pvc-1", 8*mib, Thick)
			v2 := e.create(t, "pvc-2", 8*mib, Thick)
			if _, err := e.pool.Publish(e.ctx, v1.ID, nodeA, true); err != nil {
				t.Fatal(err)
			}
			for _, try := range []struct {
				id     string
				shared bool
			}{{v2.ID, false}, {v1.ID, true}} {
				_, err := e.pool.Publish(e.ctx, try.id, tc.other, try.shared)
				if !errors.Is(err, ErrInitiatorInUse) {
					t.Fatalf("Publish(%s, %s) = %v, want ErrInitiatorInUse", try.id, tc.other.ID, err)
				}
				if msg := err.Error(); !strings.Contains(msg, nodeA.ID) || !strings.Contains(msg, tc.other.ID) {
					t.Errorf("the error does not name both nodes: %v", err)
				}
			}
			if got, _ := e.pool.Get(e.ctx, v2.ID); len(got.Nodes) != 0 || e.target(t, v2.ID) != nil {
				t.Fatalf("the refused publish changed volume 2: nodes %+v, target %+v", got.Nodes, e.target(t, v2.ID))
			}
			if got, _ := e.pool.Get(e.ctx, v1.ID); len(got.Nodes) != 1 || got.Nodes[0] != nodeA {
				t.Fatalf("the refused publish changed volume 1: nodes %+v", got.Nodes)
			}
			// Once node A's last publication is gone, the name is free.
			if err := e.pool.Unpublish(e.ctx, v1.ID, nodeA.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := e.pool.Publish(e.ctx, v2.ID, tc.other, false); err != nil {
				t.Fatalf("publish after node A was unpublished everywhere: %v", err)
			}
		})
	}
}

// rendezvousTags holds each ChangeTags call until a second one arrives
// (or a while has passed), so two publishes that both passed their checks
// record their tags together: the interleaving a lock must exclude.
type rendezvousTags struct {
	*lvmfake.Fake
	arrived chan struct{}
}

func (r *rendezvousTags) ChangeTags(ctx context.Context, vg, name string, add, del []string) error {
	select {
	case r.arrived <- struct{}{}:
	case <-time.After(300 * time.Millisecond):
	}
	select {
	case <-r.arrived:
	case <-time.After(300 * time.Millisecond):
	}
	return r.Fake.ChangeTags(ctx, vg, name, add, del)
}

// Two publishes racing on different volumes from two nodes with one
// initiator name: only one of them can win.
func TestPublishOfOneInitiatorFromTwoNodesAtOnce(t *testing.T) {
	e := newEnv(t, false)
	vols := []Volume{e.create(t, "pvc-1", 8*mib, Thick), e.create(t, "pvc-2", 8*mib, Thick)}
	p, err := New(e.pool.cfg, &rendezvousTags{Fake: e.lvm, arrived: make(chan struct{})}, e.tgt, e.secrets, e.wiper)
	if err != nil {
		t.Fatal(err)
	}
	clone := Node{ID: "node-c/" + nodeA.Initiator, Initiator: nodeA.Initiator}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, n := range []Node{nodeA, clone} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = p.Publish(e.ctx, vols[i].ID, n, false)
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("errors %v and %v: want exactly one publish refused", errs[0], errs[1])
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, ErrInitiatorInUse) {
			t.Fatalf("the refused publish failed with %v, want ErrInitiatorInUse", err)
		}
	}
}

// A node reinstalled under its name gets a new initiator name, so a new
// node id. Kubernetes attaches by node name: the new id's publish takes
// over the old one's publication (the old name loses access and its
// sessions), and a detach by the new id removes the old one's.
func TestReinstalledNodeReplacesItsOldInitiator(t *testing.T) {
	e := newEnv(t, false)
	reinstalled := Node{ID: "node-a/iqn.1993-08.org.debian:01:a2a2", Initiator: "iqn.1993-08.org.debian:01:a2a2"}
	v1 := e.create(t, "pvc-1", 8*mib, Thick)
	v2 := e.create(t, "pvc-2", 8*mib, Thick)
	exp, err := e.pool.Publish(e.ctx, v1.ID, nodeA, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Publish(e.ctx, v2.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	tg := e.target(t, v1.ID)
	if _, err := e.tgt.Login(tg.TID, nodeA.Initiator, "192.0.2.21", exp.CHAP.User, exp.CHAP.Password); err != nil {
		t.Fatal(err)
	}

	if _, err := e.pool.Publish(e.ctx, v1.ID, reinstalled, false); err != nil {
		t.Fatalf("publish to the reinstalled node: %v", err)
	}
	if got, _ := e.pool.Get(e.ctx, v1.ID); len(got.Nodes) != 1 || got.Nodes[0] != reinstalled {
		t.Fatalf("recorded nodes = %+v, want the reinstalled node only", got.Nodes)
	}
	tg = e.target(t, v1.ID)
	if !slices.Equal(tg.InitiatorNames, []string{reinstalled.Initiator}) {
		t.Fatalf("ACL = %v, want the new initiator only", tg.InitiatorNames)
	}
	if s := e.sessionsOf(t, v1.ID, nodeA.Initiator); len(s) != 0 {
		t.Fatalf("the old initiator's session survived: %+v", s)
	}

	// Volume 2 is still recorded for the old id; the CO detaches it by the
	// node's current id.
	if err := e.pool.Unpublish(e.ctx, v2.ID, reinstalled.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.pool.Get(e.ctx, v2.ID); len(got.Nodes) != 0 || e.target(t, v2.ID) != nil {
		t.Fatalf("after the detach: nodes %+v, target %+v; want neither", got.Nodes, e.target(t, v2.ID))
	}
	if _, err := e.pool.Publish(e.ctx, v2.ID, nodeB, false); err != nil {
		t.Fatalf("the detached volume cannot move to another node: %v", err)
	}
}

// Publications recorded before the check existed (or by hand) may give one
// initiator name to two nodes; reconcile finds them to warn.
func TestSharedInitiatorsAreFound(t *testing.T) {
	e := newEnv(t, false)
	v1 := e.create(t, "pvc-1", 8*mib, Thick)
	v2 := e.create(t, "pvc-2", 8*mib, Thick)
	clone := Node{ID: "node-c/" + nodeA.Initiator, Initiator: nodeA.Initiator}
	if _, err := e.pool.Publish(e.ctx, v1.ID, nodeA, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Publish(e.ctx, v2.ID, nodeB, true); err != nil {
		t.Fatal(err)
	}
	lvs, _ := e.lvm.ListLVs(e.ctx, testVG)
	if got := sharedInitiators(lvs); len(got) != 0 {
		t.Fatalf("distinct initiators reported as shared: %+v", got)
	}
	if err := e.lvm.ChangeTags(e.ctx, testVG, v2.ID, []string{pubTag(clone)}, nil); err != nil {
		t.Fatal(err)
	}
	lvs, _ = e.lvm.ListLVs(e.ctx, testVG)
	got := sharedInitiators(lvs)
	if len(got) != 1 {
		t.Fatalf("shared initiators = %+v, want one", got)
	}
	nodes := []string{got[0].Node, got[0].OtherNode}
	slices.Sort(nodes)
	if got[0].Initiator != nodeA.Initiator || !slices.Equal(nodes, []string{nodeA.ID, clone.ID}) ||
		(got[0].Volume != v1.ID && got[0].Volume != v2.ID) {
		t.Fatalf("shared initiator = %+v, want node A's name for %s and %s", got[0], nodeA.ID, clone.ID)
	}
}
