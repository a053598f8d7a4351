package lvmfake

import (
	"context"
	"fmt"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// SplitSnapshot implements lvm.Interface: the COW snapshot becomes a plain
// thick LV of the same name, tags and size (its COW area), keeping its
// extents; the origin is a plain LV again once it has no other COW
// snapshot (testdata/lvs-after-split).
func (f *Fake) SplitSnapshot(_ context.Context, vg, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("SplitSnapshot"); err != nil {
		return err
	}
	lv, err := f.find(vg, name)
	if err != nil {
		return err
	}
	if !lv.IsCOWSnapshot() {
		// lvm: "Command on LV vg/lv does not accept LV type linear."
		return fmt.Errorf("%w: %s/%s is not a COW snapshot", lvm.ErrInvalid, vg, name)
	}
	origin := lv.Origin
	lv.Attr, lv.Origin, lv.DataPercent, lv.Active = attrThick, "", 0, true
	if o, ok := f.lvs[origin]; ok && !o.IsThinVolume() && !f.hasCOWSnapshots(origin, "") {
		o.Attr = attrThick
	}
	return nil
}

// SetThinPoolZeroing plays a pool created with -Z n (on=false) or changed
// with lvchange -Z: lv_attr's zero letter of the pool and of its thin LVs,
// existing and new (testdata/lvs-pool-nozero, lvs-pool-zero-fixed).
func (f *Fake) SetThinPoolZeroing(pool string, on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.lvs[pool]
	if !ok || !p.IsThinPool() {
		return fmt.Errorf("%w: thin pool %s", lvm.ErrNotFound, pool)
	}
	p.Attr = withZero(p.Attr, on)
	for _, lv := range f.lvs {
		if lv.PoolLV == pool {
			lv.Attr = withZero(lv.Attr, on)
		}
	}
	return nil
}

// withZero sets lv_attr's 8th letter: 'z' when new blocks are zeroed.
func withZero(attr string, on bool) string {
	b := []byte(attr)
	if len(b) < 8 {
		return attr
	}
	b[7] = '-'
	if on {
		b[7] = 'z'
	}
	return string(b)
}

// poolZeroes reports whether pool zeroes new blocks (the caller holds f.mu).
func (f *Fake) poolZeroes(pool string) bool {
	p, ok := f.lvs[pool]
	return ok && p.ZeroesNewBlocks()
}
