package pool

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// plainThin reports whether lv, a volume of ours, can be deleted by
// lvremove alone: a thin volume (no wipe: the thin pool zeroes blocks on
// first use, docs/design.md "Data of deleted volumes"), finished (not
// creating, not deleting) and published nowhere (no lic.pub tag, readable
// or not), so that no target of it should exist.
func plainThin(lv *lvm.LV, info tagInfo) bool {
	if !lv.IsThinVolume() || info.prov != Thin || info.deleting || info.creating || info.growing {
		return false
	}
	for _, t := range lv.Tags {
		if strings.HasPrefix(t, tagPub) {
			return false
		}
	}
	return true
}

// removePlainThin deletes a plainThin volume with one lvremove, its
// dependents checked in the caller's report r (a thin volume has none that
// lvremove -y would take along: its thin snapshots outlive it, and the
// delete's mark on it, sources.go, keeps a COW snapshot or a clone of it
// from being started since r was read).
//
// What the full path does first is not needed here:
//   - the "deleting" mark makes a delete of several steps resumable and
//     hides a half-deleted volume; this one is one command, so a crash or a
//     failure leaves the volume whole (the CO retries DeleteVolume) or gone;
//   - reading tgtd: an unpublished volume has no target. One an
//     interrupted or failed ControllerUnpublishVolume left behind keeps
//     the LV open (tgtd opens a LUN's backing device), and lvremove
//     refuses an open LV: then ok is false and the caller takes the full
//     path, which takes the target and its sessions down first.
//
// ok is true when the volume is gone.
func (p *Pool) removePlainThin(ctx context.Context, r *lvReport, lv *lvm.LV, info tagInfo) (ok bool, err error) {
	id := lv.Name
	err = p.lvm.RemoveLVListed(ctx, p.cfg.VolumeGroup, id, r.lvs)
	switch {
	case errors.Is(err, lvm.ErrInUse) && !errors.Is(err, lvm.ErrHasDependents):
		klog.InfoS("An unpublished volume is held open, probably by a target an interrupted unpublish left; deleting it through its target", "volumeID", id, "err", err)
		return false, nil
	case errors.Is(err, lvm.ErrNotFound):
		// Removed since r was read (a concurrent delete that got there
		// first): done.
	case err != nil:
		return false, fmt.Errorf("removing LV %s: %w", id, err)
	}
	if err := p.secrets.Delete(id); err != nil {
		return true, fmt.Errorf("forgetting the CHAP credentials of %s: %w", id, err)
	}
	klog.InfoS("Deleted volume", "volumeID", id, "name", info.name)
	return true, nil
}
