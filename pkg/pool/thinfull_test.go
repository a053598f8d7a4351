package pool

import (
	"errors"
	"strings"
	"testing"
)

// Past --thin-pool-full-percent of data or metadata, nothing new may take
// thin pool space: the last blocks are for the existing volumes' writes.
// Thick volumes do not use the pool and go on.
func TestNearlyFullThinPoolRefusesNewThinAllocations(t *testing.T) {
	for _, tc := range []struct {
		name, what string
		set        func(e *env) error
	}{
		{"data", "data is 96.0% used", func(e *env) error { return e.lvm.SetDataPercent(testPool, 96) }},
		{"metadata", "metadata is 95.0% used", func(e *env) error { return e.lvm.SetMetadataPercent(testPool, 95) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, true)
			e.pool.cfg.ThinPoolFullPercent = 95
			v := e.create(t, "existing", 64*mib, Thin)
			if err := tc.set(e); err != nil {
				t.Fatal(err)
			}
			refused := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), tc.what) || !strings.Contains(err.Error(), testVG+"/"+testPool) {
					t.Errorf("%s on a nearly full pool = %v, want ErrNoSpace naming %s/%s and %q", what, err, testVG, testPool, tc.what)
				}
			}
			_, err := e.pool.Create(e.ctx, CreateRequest{Name: "new", RequiredSize: 8 * mib, Provisioning: Thin})
			refused("a thin volume", err)
			_, err = e.pool.CreateSnapshot(e.ctx, "snap", v.ID)
			refused("a thin snapshot", err)
			_, err = e.pool.Create(e.ctx, CreateRequest{Name: "clone", RequiredSize: 64 * mib, Provisioning: Thin, SourceVolume: v.ID})
			refused("a thin clone", err)
			if room, err := e.pool.Capacity(e.ctx, Thin); err != nil || room != 0 {
				t.Errorf("thin capacity of a nearly full pool = %d, %v; want 0", room, err)
			}
			if _, err := e.pool.Create(e.ctx, CreateRequest{Name: "thick", RequiredSize: 8 * mib, Provisioning: Thick}); err != nil {
				t.Errorf("a thick volume next to a nearly full thin pool: %v", err)
			}
			// The limit off: the pool is the administrator's to fill.
			e.pool.cfg.ThinPoolFullPercent = 0
			if _, err := e.pool.Create(e.ctx, CreateRequest{Name: "new", RequiredSize: 8 * mib, Provisioning: Thin}); err != nil {
				t.Errorf("a thin volume with --thin-pool-full-percent=0: %v", err)
			}
		})
	}
}
