package lvmfake

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// RemoveLV implements lvm.Interface.
func (f *Fake) RemoveLV(_ context.Context, vg, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("RemoveLV"); err != nil {
		return err
	}
	lv, err := f.find(vg, name)
	if err != nil {
		return err
	}
	if deps := f.dependents(lv); len(deps) > 0 {
		return fmt.Errorf("%w: %s/%s is needed by %s", lvm.ErrHasDependents, vg, name, strings.Join(deps, ", "))
	}
	f.remove(lv)
	return nil
}

// remove takes lv out of the VG.
func (f *Fake) remove(lv *lvm.LV) {
	name := lv.Name
	for _, other := range f.lvs {
		if other.Origin == name { // thin snapshots outlive their origin
			other.Origin = ""
		}
	}
	if lv.IsCOWSnapshot() && !f.hasCOWSnapshots(lv.Origin, name) {
		if origin, ok := f.lvs[lv.Origin]; ok && !origin.IsThinVolume() {
			origin.Attr = attrThick
		}
	}
	f.vg.Free += f.allocated[name]
	delete(f.allocated, name)
	delete(f.lvs, name)
}

// dependents are the LVs lvremove -y would take along with lv.
func (f *Fake) dependents(lv *lvm.LV) []string {
	var deps []string
	for _, other := range f.lvs {
		if other.IsCOWSnapshot() && other.Origin == lv.Name || lv.IsThinPool() && other.PoolLV == lv.Name {
			deps = append(deps, other.Name)
		}
	}
	slices.Sort(deps)
	return deps
}

// hasCOWSnapshots reports whether origin has COW snapshots besides except.
func (f *Fake) hasCOWSnapshots(origin, except string) bool {
	for _, other := range f.lvs {
		if other.Name != except && other.IsCOWSnapshot() && other.Origin == origin {
			return true
		}
	}
	return false
}

// ExtendLV implements lvm.Interface.
func (f *Fake) ExtendLV(_ context.Context, vg, name string, size uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("ExtendLV"); err != nil {
		return err
	}
	lv, err := f.find(vg, name)
	if err != nil {
		return err
	}
	size = f.roundUp(size)
	if size <= lv.Size {
		return nil
	}
	if f.hasCOWSnapshots(name, "") {
		return fmt.Errorf("%w: %s/%s is a snapshot origin", lvm.ErrHasDependents, vg, name)
	}
	if lv.IsThinVolume() {
		lv.Size = size
		return nil
	}
	grow := size - lv.Size
	if grow > f.vg.Free {
		return fmt.Errorf("%w: %s needs %d more bytes, %d free", lvm.ErrNoSpace, name, grow, f.vg.Free)
	}
	lv.Size = size
	f.allocated[name] += grow
	f.vg.Free -= grow
	return nil
}

// ChangeTags implements lvm.Interface.
func (f *Fake) ChangeTags(_ context.Context, vg, name string, add, del []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("ChangeTags"); err != nil {
		return err
	}
	for _, t := range slices.Concat(add, del) {
		if !lvm.ValidTag(t) {
			return fmt.Errorf("%w: tag %q", lvm.ErrInvalid, t)
		}
	}
	lv, err := f.find(vg, name)
	if err != nil {
		return err
	}
	tags := slices.DeleteFunc(slices.Concat(lv.Tags, add), func(t string) bool { return slices.Contains(del, t) && !slices.Contains(add, t) })
	lv.Tags = sortedTags(tags)
	return nil
}

// Activate implements lvm.Interface.
func (f *Fake) Activate(_ context.Context, vg, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("Activate"); err != nil {
		return err
	}
	lv, err := f.find(vg, name)
	if err != nil {
		return err
	}
	if lv.Attr == attrThinSnapshot {
		lv.Attr = attrThinSnapshotLive
	} else if lv.Attr == withZero(attrThinSnapshot, false) {
		lv.Attr = withZero(attrThinSnapshotLive, false)
	}
	lv.Active = true
	return nil
}
