package pool

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// Expand grows a volume to at least required bytes (rounded up to whole
// extents, within limit) and returns its new size. It works while the
// volume is in use: the LV grows, then tgtd re-reads the LUN's size with
// nothing of the target in flight, the node's connections closed for that
// moment and its session kept (refresh.go); the node's rescan and
// filesystem resize follow in NodeExpandVolume. A crash between the two
// steps is healed by Reconcile, which refreshes any LUN smaller than its
// LV. A thick volume's new space is zeroed before tgtd shows it (grow.go);
// a retry after a crash in between finishes that first. Asking for less
// than the current size is success (it already is at least that big); a
// thick volume with snapshots cannot grow (lvm refuses to resize an active
// origin of copy-on-write snapshots).
func (p *Pool) Expand(ctx context.Context, id string, required, limit uint64) (uint64, error) {
	// One lvs answers the checks (report.go): the volume, its COW
	// snapshots, the thin pool's room.
	r, err := p.readReport(ctx)
	if err != nil {
		return 0, err
	}
	lv, v, err := r.volume(id)
	if err != nil {
		return 0, err
	}
	if limit != 0 && required > limit {
		return 0, fmt.Errorf("%w: required size %d exceeds the limit %d", ErrInvalid, required, limit)
	}
	extent, err := p.extentSize(ctx)
	if err != nil {
		return 0, err
	}
	size, err := roundSize(required, limit, extent)
	if err != nil {
		return 0, err
	}
	end := func(bool) {} // a thin growth's claim (thinclaims.go)
	if size > lv.Size {
		if !lv.IsThinVolume() {
			if snaps := r.cowSnapshotsOf(id); len(snaps) > 0 {
				return 0, fmt.Errorf("%w: thick volume %s has snapshots %v; lvm cannot grow it", ErrHasSnapshots, id, snaps)
			}
			// Checked first: a thick growth tags the volume before it
			// extends it (grow.go), which a refusal would only undo.
			if err := p.checkVGRoom(ctx, size-lv.Size); err != nil {
				return 0, err
			}
		} else if end, err = p.claimThin(r, id, size); err != nil {
			return 0, err
		}
	}
	if !lv.IsThinVolume() {
		if size > lv.Size || parseTags(lv.Tags).growing {
			if lv, err = p.growThick(ctx, id, size); err != nil {
				return 0, err
			}
		}
	} else if size > lv.Size {
		err := p.lvm.ExtendLV(ctx, p.cfg.VolumeGroup, id, size)
		end(err == nil)
		if err != nil {
			if errors.Is(err, lvm.ErrNoSpace) {
				return 0, fmt.Errorf("%w: %w", ErrNoSpace, err)
			}
			return 0, fmt.Errorf("growing %s: %w", id, err)
		}
		klog.InfoS("Grew volume", "volumeID", id, "from", lv.Size, "to", size)
		// Not read back: lvextend made it exactly size (whole extents).
		grown := *lv
		grown.Size = size
		lv = &grown
	}
	if len(v.Nodes) > 0 {
		// Exported: make tgtd report the new size (syncLUN refreshes a LUN
		// smaller than its LV).
		if err := p.withTgtFor(ctx, id, func(st *tgtState) error { return p.syncTarget(ctx, st, lv, v.Nodes, v.Provisioning) }); err != nil {
			return 0, err
		}
	}
	return lv.Size, nil
}
