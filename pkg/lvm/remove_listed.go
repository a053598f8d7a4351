package lvm

import "context"

// RemoveLVListed is RemoveLV with the dependents looked for in lvs, a
// listing of the VG the caller took (ListLVs), instead of a listing of its
// own: one lvm command instead of two, each of which reads the whole VG's
// metadata under its lock. The check is only as fresh as the caller's
// listing, so the caller must know that no snapshot of name can have been
// made since it was taken (the pool holds its delete mark on the volume,
// which keeps its own snapshots and clones away, from before its listing
// until lvremove has run). An LV the listing lacks is ErrNotFound.
func (l *LVM) RemoveLVListed(ctx context.Context, vg, name string, lvs []LV) error {
	op := "remove logical volume " + lvPath(vg, name)
	if err := checkLV(op, vg, name); err != nil {
		return err
	}
	if err := checkRemovable(op, lvs, name); err != nil {
		return err
	}
	return l.lvremove(ctx, op, vg, name)
}
