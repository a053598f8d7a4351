package lvmfake

import (
	"fmt"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// SetMetadataPercent sets the metadata usage lvs would report for a thin
// pool (the fake does not model metadata otherwise).
func (f *Fake) SetMetadataPercent(name string, percent float64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	lv, ok := f.lvs[name]
	if !ok {
		return fmt.Errorf("%w: %s", lvm.ErrNotFound, name)
	}
	lv.MetadataPercent = percent
	return nil
}
