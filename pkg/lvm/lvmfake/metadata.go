package lvmfake

import "github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"

// SetMetadataPercent sets the metadata usage lvs would report for a thin
// pool (the fake does not model metadata otherwise).
func (f *Fake) SetMetadataPercent(name string, percent float64) error {
	return f.change(name, func(lv *lvm.LV) { lv.MetadataPercent = percent })
}
