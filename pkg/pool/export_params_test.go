package pool

import (
	"errors"
	"maps"
	"testing"
)

// wantTargetParams is TargetParams as the fake lists them back.
func wantTargetParams() map[string]string {
	m := map[string]string{}
	for _, p := range TargetParams {
		m[p.Name] = p.Value
	}
	return m
}

// A new export offers the data-path login keys before any initiator can
// log in, and a tgtd restart gets them back from the reconciler with the
// rest of the target (tgtd forgets them with everything else).
func TestExportsOfferTheDataPathKeysAndReconcileRestoresThem(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "pvc-keys", 64*mib, Thin)
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	tg := e.target(t, v.ID)
	if got := e.tgt.TargetParams(tg.TID); !maps.Equal(got, wantTargetParams()) {
		t.Fatalf("target keys after publish = %v, want %v", got, wantTargetParams())
	}
	e.tgt.Restart()
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	tg = e.target(t, v.ID)
	if got := e.tgt.TargetParams(tg.TID); !maps.Equal(got, wantTargetParams()) {
		t.Fatalf("target keys after a tgtd restart and reconcile = %v, want %v", got, wantTargetParams())
	}
}

// A publish that stops after the target was made but before its keys were
// set leaves a target without LUN or ACL (no one can log in); the retry
// sets the keys before the LUN, so no initiator ever logs in without them.
func TestPublishInterruptedBeforeTheKeysConverges(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "pvc-keys-retry", 64*mib, Thin)
	e.tgt.FailNext("SetTargetParams", errors.New("tgtd went away"))
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err == nil {
		t.Fatal("publish succeeded although the keys could not be set")
	}
	tg := e.target(t, v.ID)
	if tg == nil || len(tg.LUNs) != 0 || len(tg.InitiatorNames) != 0 {
		t.Fatalf("after the failure: target %+v, want one without LUN and ACL", tg)
	}
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	tg = e.target(t, v.ID)
	if got := e.tgt.TargetParams(tg.TID); !maps.Equal(got, wantTargetParams()) || len(tg.LUNs) != 1 {
		t.Fatalf("after the retry: keys %v LUNs %+v, want %v and LUN 1", got, tg.LUNs, wantTargetParams())
	}
}
