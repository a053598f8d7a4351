package pool

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt/tgtfake"
)

// publishedAndLoggedIn is a thin volume of 64 MiB published to nodeA, with
// nodeA logged in; it returns the volume id, its target's tid and nodeA's
// credentials.
func publishedAndLoggedIn(t *testing.T, e *env) (string, int, *CHAP) {
	t.Helper()
	v := e.create(t, "v", 64*mib, Thin)
	exp, err := e.pool.Publish(e.ctx, v.ID, nodeA, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.login(t, v.ID, nodeA, exp.CHAP); err != nil {
		t.Fatal(err)
	}
	e.tgt.SetSize("/dev/vg0/"+v.ID, 100*mib) // what tgtd reads once the LV has grown
	return v.ID, e.target(t, v.ID).TID, exp.CHAP
}

// tgtCalls returns the calls among only that the fake saw after the first
// skip calls.
func tgtCalls(f *tgtfake.Fake, skip int, only ...string) []string {
	return slices.DeleteFunc(f.Calls()[skip:], func(c string) bool { return !slices.Contains(only, c) })
}

// An expansion of a volume a node is logged in to refreshes the LUN only
// once tgtd lists none of the target's connections (their commands have
// finished), with the target offline so the node cannot log in meanwhile;
// then the target is ready and the node logs in again to the larger LUN.
func TestRefreshOfAnInUseLUNWaitsForItsCommands(t *testing.T) {
	e := newEnv(t, true)
	id, tid, creds := publishedAndLoggedIn(t, e)
	s := e.target(t, id).Sessions[0]
	// tgtd lists the closed connection once more (a command of it still
	// runs), then no more.
	e.tgt.BeforeNext("CloseConnection", func() {
		e.tgt.BeforeNext("TargetSessions", func() {
			if _, err := e.tgt.AddSession(tid, s); err != nil {
				t.Error(err)
			}
			e.tgt.BeforeNext("TargetSessions", func() {
				if err := e.tgt.CloseConnection(e.ctx, tid, s.SID, s.Connections[0].CID); err != nil {
					t.Error(err)
				}
			})
		})
	})
	refreshed := false
	e.tgt.BeforeNext("RefreshLUN", func() {
		refreshed = true
		now := e.target(t, id)
		if len(now.Sessions) != 0 || now.State != tgt.StateOffline {
			t.Errorf("the LUN was refreshed with the target %s and sessions %+v", now.State, now.Sessions)
		}
		if _, err := e.tgt.Login(tid, nodeA.Initiator, "192.0.2.99", creds.User, creds.Password); !errors.Is(err, tgtfake.ErrLoginRefused) {
			t.Errorf("a login during the refresh: err = %v, want it refused", err)
		}
	})
	calls := len(e.tgt.Calls())
	if size, err := e.pool.Expand(e.ctx, id, 100*mib, 0); err != nil || size != 100*mib {
		t.Fatalf("Expand = %d, %v", size, err)
	}
	if !refreshed {
		t.Fatal("tgtd was not told the new size")
	}
	// One close by the driver, one by the test (the commands finishing).
	want := []string{"SetTargetState", "CloseConnection", "CloseConnection", "RefreshLUN", "SetTargetState"}
	if got := tgtCalls(e.tgt, calls, "SetTargetState", "CloseConnection", "RefreshLUN"); !slices.Equal(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
	after := e.target(t, id)
	if after.State != tgt.StateReady || after.LUNs[0].Size != 100*mib {
		t.Fatalf("after the expansion: state %s, LUN size %d", after.State, after.LUNs[0].Size)
	}
	if len(after.Sessions) != 0 {
		t.Fatalf("sessions after the refresh: %+v", after.Sessions)
	}
	if err := e.login(t, id, nodeA, creds); err != nil {
		t.Fatalf("the node's login after the refresh: %v", err)
	}
}

// neverFinished is tgtd with a command of every connection stuck in the
// backing store: closing a connection is accepted, and tgtd goes on
// listing it.
type neverFinished struct{ tgt.Interface }

func (neverFinished) CloseConnection(context.Context, int, int, int) error { return nil }

// A refresh whose target's commands do not finish gives up with
// ErrUnavailable when the call ends, leaves the LUN as it was and the
// target ready; a retry once they finished completes the expansion.
func TestRefreshGivesUpWhileCommandsRun(t *testing.T) {
	e := newEnv(t, true)
	id, _, _ := publishedAndLoggedIn(t, e)
	counted := e.pool.tgt
	e.pool.tgt = neverFinished{counted}
	ctx, cancel := context.WithTimeout(e.ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := e.pool.Expand(ctx, id, 100*mib, 0); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Expand with commands that never finish = %v, want ErrUnavailable", err)
	}
	now := e.target(t, id)
	if now.State != tgt.StateReady || now.LUNs[0].Size != 64*mib || len(now.Sessions) != 1 {
		t.Fatalf("after giving up: state %s, LUN size %d, sessions %+v; want ready, 64 MiB, the session", now.State, now.LUNs[0].Size, now.Sessions)
	}

	e.pool.tgt = counted
	if size, err := e.pool.Expand(e.ctx, id, 100*mib, 0); err != nil || size != 100*mib {
		t.Fatalf("Expand again = %d, %v", size, err)
	}
	if got := e.target(t, id).LUNs[0].Size; got != 100*mib {
		t.Fatalf("LUN size after the retry = %d, want 100 MiB", got)
	}
}

// A failed refresh leaves the target ready as well.
func TestFailedRefreshLeavesTheTargetReady(t *testing.T) {
	e := newEnv(t, true)
	id, _, _ := publishedAndLoggedIn(t, e)
	e.tgt.FailNext("RefreshLUN", errors.New("tgtadm: invalid request"))
	if _, err := e.pool.Expand(e.ctx, id, 100*mib, 0); err == nil {
		t.Fatal("Expand succeeded although the refresh failed")
	}
	if now := e.target(t, id); now.State != tgt.StateReady || now.LUNs[0].Size != 64*mib {
		t.Fatalf("after the failed refresh: state %s, LUN size %d", now.State, now.LUNs[0].Size)
	}
}

// A controller that died during a refresh left its target offline: the
// next reconcile pass sets it ready, and the node logs in again.
func TestReconcileSetsReadyATargetARefreshLeftOffline(t *testing.T) {
	e := newEnv(t, true)
	id, tid, creds := publishedAndLoggedIn(t, e)
	s := e.target(t, id).Sessions[0]
	if err := e.tgt.SetTargetState(e.ctx, tid, tgt.StateOffline); err != nil {
		t.Fatal(err)
	}
	if err := e.tgt.CloseConnection(e.ctx, tid, s.SID, s.Connections[0].CID); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	if now := e.target(t, id); now.State != tgt.StateReady {
		t.Fatalf("state after the reconcile pass = %s, want ready", now.State)
	}
	if err := e.login(t, id, nodeA, creds); err != nil {
		t.Fatalf("the node's login after the reconcile pass: %v", err)
	}
}

// tgtd restarting during the drain loses the target: the expansion fails,
// and the reconcile pass that a restart triggers rebuilds the target ready,
// with the LUN at the grown size.
func TestTgtdRestartDuringTheDrainIsHealed(t *testing.T) {
	e := newEnv(t, true)
	id, _, _ := publishedAndLoggedIn(t, e)
	e.tgt.BeforeNext("TargetSessions", e.tgt.Restart)
	if _, err := e.pool.Expand(e.ctx, id, 100*mib, 0); err == nil {
		t.Fatal("Expand succeeded although tgtd lost the target during the drain")
	}
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	now := e.target(t, id)
	if now == nil || now.State != tgt.StateReady || now.LUNs[0].Size != 100*mib {
		t.Fatalf("after the reconcile pass: %+v; want the target ready with a 100 MiB LUN", now)
	}
}
