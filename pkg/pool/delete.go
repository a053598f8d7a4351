package pool

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// Delete removes a volume: its target first (connections closed, target
// deleted, because tgtd holds the LV open), then, for thick volumes, the
// data is zeroed so the extents never leak into a later volume, then the LV
// goes. The LV is tagged "deleting" before anything else, so a crash at any
// step leaves a volume no one can publish and that Reconcile finishes
// deleting. An unknown id is success.
func (p *Pool) Delete(ctx context.Context, id string) error {
	if !ValidVolumeID(id) {
		return nil // cannot name a volume of ours
	}
	if p.jobs.busy(id) {
		// Checked first: the job may not have created the LV yet.
		return fmt.Errorf("%w: volume %s is still being filled from its source", ErrInProgress, id)
	}
	if p.jobs.busy(growJob(id)) {
		return fmt.Errorf("%w: volume %s is still being grown", ErrInProgress, id)
	}
	done, err := p.sources.delete(id)
	if err != nil {
		return err
	}
	defer done()
	// One lvs: the volume and, for a thick one, its COW snapshots
	// (report.go).
	r, err := p.readReport(ctx)
	if err != nil {
		return err
	}
	lv := r.lv(id)
	if lv == nil {
		return nil
	}
	info := parseTags(lv.Tags)
	if !info.ours || info.kind != "" {
		klog.InfoS("Not deleting an LV that is not a volume of ours", "lv", id)
		return nil
	}
	if !lv.IsThinVolume() {
		// lvm removes a thick origin only together with its copy-on-write
		// snapshots, and zeroing it would first copy every block into them.
		if snaps := r.cowSnapshotsOf(id); len(snaps) > 0 {
			return fmt.Errorf("%w: thick volume %s has snapshots %v; delete them first", ErrHasSnapshots, id, snaps)
		}
	}
	if plainThin(lv, info) {
		// One lvremove, no mark, no tgtd reading (delete_plain.go).
		if ok, err := p.removePlainThin(ctx, r, lv, info); ok || err != nil {
			return err
		}
	}
	if !info.deleting {
		if err := p.lvm.ChangeTags(ctx, p.cfg.VolumeGroup, id, []string{tagState + stateDelete}, nil); err != nil {
			return fmt.Errorf("marking %s for deletion: %w", id, err)
		}
	}
	return p.finishDeleteJob(ctx, lv, info)
}

// finishDeleteJob runs finishDelete as a job: zeroing a large thick volume
// outlasts a CO's call, whose retry (or the reconciler) then waits for the
// same job instead of starting the wipe over.
func (p *Pool) finishDeleteJob(ctx context.Context, lv *lvm.LV, info tagInfo) error {
	return p.jobs.run(ctx, deleteJob(lv.Name), func(ctx context.Context) error { return p.finishDelete(ctx, lv, info) })
}

func (p *Pool) finishDelete(ctx context.Context, lv *lvm.LV, info tagInfo) error {
	id := lv.Name
	if info.prov != Thin {
		// Read again: an earlier job may have finished since the caller
		// looked, and the wipe must not be pointed at a device that is
		// gone. A thin volume needs no wipe, and every step below takes
		// a volume already gone as done (no nodes: no target; lvremove:
		// not found), so its caller's reading serves.
		var err error
		lv, err = p.lvm.GetLV(ctx, p.cfg.VolumeGroup, id)
		if errors.Is(err, lvm.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	if err := p.withTgtFor(ctx, id, func(st *tgtState) error { return p.syncTarget(ctx, st, lv, nil, info.prov) }); err != nil {
		return err
	}
	if info.prov != Thin {
		// Thin volumes need no wipe: the thin pool zeroes blocks on first
		// use (docs/design.md, "data of deleted volumes").
		if !lv.Active {
			if err := p.lvm.Activate(ctx, p.cfg.VolumeGroup, id); err != nil {
				return fmt.Errorf("activating %s to wipe it: %w", id, err)
			}
		}
		if err := p.blocks.Zero(ctx, devicePath(p.cfg.VolumeGroup, lv)); err != nil {
			return fmt.Errorf("zeroing %s before removal: %w", id, err)
		}
		p.countZeroed(lv.Size)
	}
	if err := p.lvm.RemoveLV(ctx, p.cfg.VolumeGroup, id); err != nil && !errors.Is(err, lvm.ErrNotFound) {
		return fmt.Errorf("removing LV %s: %w", id, err)
	}
	if err := p.secrets.Delete(id); err != nil {
		return fmt.Errorf("forgetting the CHAP credentials of %s: %w", id, err)
	}
	klog.InfoS("Deleted volume", "volumeID", id, "name", info.name)
	return nil
}
