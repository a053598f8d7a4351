package tgtfake

import (
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

func TestBeforeNextRunsOnceBeforeTheCall(t *testing.T) {
	f := New()
	must(t, f.CreateTarget(ctx, 1, iqnA))
	must(t, f.BindInitiator(ctx, 1, nodeA))
	ran := 0
	// A login that tgtd admitted before the unbind completes right after
	// it: the hook runs before the call and may use the fake itself.
	f.BeforeNext("ListTargets", func() {
		ran++
		if _, err := f.AddSession(1, tgt.Session{Initiator: nodeA, Connections: []tgt.Connection{{CID: 0}}}); err != nil {
			t.Error(err)
		}
	})
	must(t, f.UnbindInitiator(ctx, 1, nodeA))
	if ran != 0 {
		t.Fatal("the hook ran before a call of another method")
	}
	if got := listOne(t, f).Sessions; ran != 1 || len(got) != 1 {
		t.Fatalf("after the hooked call: ran %d times, sessions %+v", ran, got)
	}
	listOne(t, f)
	if ran != 1 {
		t.Errorf("the hook ran %d times, want once", ran)
	}
	defer func() {
		if recover() == nil {
			t.Error("BeforeNext of an unknown method did not panic")
		}
	}()
	f.BeforeNext("ListTarget", func() {})
}
