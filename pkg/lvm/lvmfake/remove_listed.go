package lvmfake

import (
	"context"
	"fmt"
	"strings"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// RemoveLVListed implements lvm.Interface as pkg/lvm runs it: the
// dependents are looked for in the caller's listing, then lvremove -y
// removes the LV together with whatever depends on it now, as lvm does
// (so a test sees what a stale listing costs). It counts and fails
// (FailNext) as "RemoveLV", being the same lvremove.
func (f *Fake) RemoveLVListed(_ context.Context, vg, name string, lvs []lvm.LV) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("RemoveLV"); err != nil {
		return err
	}
	var listed *lvm.LV
	var deps []string
	for i := range lvs {
		if lvs[i].Name == name {
			listed = &lvs[i]
		}
	}
	if listed == nil {
		return fmt.Errorf("%w: %s/%s is not in the listing", lvm.ErrNotFound, vg, name)
	}
	for i := range lvs {
		if lvs[i].IsCOWSnapshot() && lvs[i].Origin == name || listed.IsThinPool() && lvs[i].PoolLV == name {
			deps = append(deps, lvs[i].Name)
		}
	}
	if len(deps) > 0 {
		return fmt.Errorf("%w: %s/%s is needed by %s", lvm.ErrHasDependents, vg, name, strings.Join(deps, ", "))
	}
	lv, err := f.find(vg, name)
	if err != nil {
		return err
	}
	for _, dep := range f.dependents(lv) { // lvremove -y takes them along
		f.remove(f.lvs[dep])
	}
	f.remove(lv)
	return nil
}
