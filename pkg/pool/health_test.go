package pool

import (
	"strings"
	"testing"
)

func TestThinVolumesAreDegradedWhenThePoolIsNearlyFull(t *testing.T) {
	e := newEnv(t, true)
	e.pool.cfg.ThinPoolWarnPercent = 80
	thin := e.create(t, "thin", 64*mib, Thin)
	thick := e.create(t, "thick", 64*mib, Thick)
	if h, err := e.pool.VolumeHealth(e.ctx, thin.ID); err != nil || len(h) != 0 {
		t.Fatalf("health with an empty pool = %v, %v", h, err)
	}
	if err := e.lvm.SetDataPercent(testPool, 91.5); err != nil {
		t.Fatal(err)
	}
	h, err := e.pool.VolumeHealth(e.ctx, thin.ID)
	if err != nil || len(h) != 1 || h[0].Reason != "ThinPoolNearlyFull" || !strings.Contains(h[0].Message, "91.5%") {
		t.Fatalf("health with a 91.5%% full pool = %v, %v", h, err)
	}
	if h, _ := e.pool.VolumeHealth(e.ctx, thick.ID); len(h) != 0 {
		t.Fatalf("a thick volume is affected by the thin pool: %v", h)
	}
	e.pool.cfg.ThinPoolWarnPercent = 0
	if h, _ := e.pool.VolumeHealth(e.ctx, thin.ID); len(h) != 0 {
		t.Fatalf("warning threshold off, still %v", h)
	}
	if _, err := e.pool.VolumeHealth(e.ctx, VolumeID("none")); err == nil {
		t.Fatal("health of an unknown volume")
	}
}
