package pool

import (
	"testing"
)

// A volume created with its write cache off keeps it off across a tgtd
// restart: the tag says so, and the reconciler's rebuilt LUN follows it.
func TestWriteCacheOffIsATagTheRebuiltLUNFollows(t *testing.T) {
	e := newEnv(t, true)
	v, err := e.pool.Create(e.ctx, CreateRequest{Name: "pvc-wt", RequiredSize: 8 * mib, Provisioning: Thin, WriteCacheOff: true})
	if err != nil {
		t.Fatal(err)
	}
	e.tgt.SetSize("/dev/vg0/"+v.ID, v.Size)
	plain := e.create(t, "pvc-wb", 8*mib, Thin)
	for _, id := range []string{v.ID, plain.ID} {
		if _, err := e.pool.Publish(e.ctx, id, nodeA, false); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string) {
		t.Helper()
		for id, want := range map[string]bool{v.ID: true, plain.ID: false} {
			tg := e.target(t, id)
			p, ok := e.tgt.LUNParams(tg.TID, 1)
			if !ok || p.WriteCacheOff != want {
				t.Errorf("%s: %s's LUN write cache off = %v (LUN there: %v), want %v", when, id, p.WriteCacheOff, ok, want)
			}
		}
	}
	check("after publish")
	e.tgt.Restart()
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	check("after a tgtd restart and reconcile")
	if _, err := e.pool.Create(e.ctx, CreateRequest{Name: "pvc-wt", RequiredSize: 8 * mib, Provisioning: Thin}); err == nil {
		t.Error("the same name with the write cache on was taken for the write-through volume")
	}
}
