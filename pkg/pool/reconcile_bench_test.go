package pool

import (
	"fmt"
	"testing"
)

// BenchmarkReconcilePass1000 times a reconcile pass with nothing to repair
// over 1000 thin volumes, 500 of them published, on the fakes: the driver's
// own work in a pass, without lvm's and tgtadm's. Parsing every CHAP
// account for every volume (accountsOf) made it quadratic: about 5.5 s of
// the 9 s pass in the guest at 1000 volumes (docs/benchmarks.md); with the
// prefix test first, one run here gave 0.054 s a pass against 0.51 s
// before. `go test -run X -bench ReconcilePass ./pkg/pool/` measures it.
func BenchmarkReconcilePass1000(b *testing.B) {
	e := newEnv(b, true)
	e.pool.cfg.OverprovisionRatio = 100
	for i := range 1000 {
		v, err := e.pool.Create(e.ctx, CreateRequest{Name: fmt.Sprintf("v%d", i), RequiredSize: 4 * mib, Provisioning: Thin})
		if err != nil {
			b.Fatal(err)
		}
		e.tgt.SetSize("/dev/vg0/"+v.ID, v.Size)
		if i < 500 {
			if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := e.pool.Reconcile(e.ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := e.pool.Reconcile(e.ctx); err != nil {
			b.Fatal(err)
		}
	}
}
