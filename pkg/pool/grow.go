package pool

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// Growing a thick volume: lvextend gives it free extents of the VG with
// whatever they held (an LV removed by hand, a disk reused for the VG), and
// once tgtd re-reads the size the node sees them as the end of its disk. So
// the new space is zeroed before any LUN shows it, in crash-safe steps:
//
//  1. tag lic.grow=<old size>: the space past it is not zeroed yet;
//  2. lvextend;
//  3. zero [old size, new size);
//  4. remove the tag; only then does syncTarget add or refresh a LUN with
//     the new size.
//
// While the tag is there, syncLUN neither adds a LUN (tgtd would read the
// LV's full size) nor refreshes one, and the reconciler, a retried
// expansion, a publication, a snapshot or a clone of the volume finish steps
// 3 and 4 first. Thin volumes need none of it: the pool zeroes new blocks.

// growJob is the job key of a volume's growth: the expansion, the
// reconciler and every caller that must see a finished growth share it, so
// the zeroing runs once at a time and outlives the call that started it.
func growJob(id string) string { return "grow\x00" + id }

// growThick grows thick volume id to at least size bytes and zeroes the new
// space. Joining a job another caller started (one that only finishes an
// interrupted growth) does not grow the volume, so it checks and goes again.
func (p *Pool) growThick(ctx context.Context, id string, size uint64) (*lvm.LV, error) {
	for range 3 {
		if err := p.jobs.run(ctx, growJob(id), func(ctx context.Context) error { return p.grow(ctx, id, size) }); err != nil {
			return nil, err
		}
		lv, err := p.lvm.GetLV(ctx, p.cfg.VolumeGroup, id)
		if err != nil {
			return nil, err
		}
		if lv.Size >= size && !parseTags(lv.Tags).growing {
			return lv, nil
		}
	}
	return nil, fmt.Errorf("%w: volume %s is being grown by another call", ErrInProgress, id)
}

// settleGrow finishes the zeroing of lv's new space when its tags say a
// growth was interrupted, and returns the LV as it is then.
func (p *Pool) settleGrow(ctx context.Context, lv *lvm.LV) (*lvm.LV, error) {
	if !parseTags(lv.Tags).growing {
		return lv, nil
	}
	klog.InfoS("Zeroing the new space of an interrupted expansion first", "volumeID", lv.Name)
	if err := p.jobs.run(ctx, growJob(lv.Name), func(ctx context.Context) error { return p.grow(ctx, lv.Name, 0) }); err != nil {
		return nil, err
	}
	return p.lvm.GetLV(ctx, p.cfg.VolumeGroup, lv.Name)
}

// grow runs the steps above from wherever the LV's tags say they stopped:
// size 0 (or no more than the LV has) only finishes an interrupted growth.
func (p *Pool) grow(ctx context.Context, id string, size uint64) error {
	lv, err := p.lvm.GetLV(ctx, p.cfg.VolumeGroup, id)
	if err != nil {
		return err
	}
	info := parseTags(lv.Tags)
	var extendErr error
	if size > lv.Size {
		if !info.growing {
			if err := p.lvm.ChangeTags(ctx, p.cfg.VolumeGroup, id, []string{growTag(lv.Size)}, nil); err != nil {
				return fmt.Errorf("recording the growth of %s: %w", id, err)
			}
			info.growing, info.growFrom = true, lv.Size
		}
		// A barrier: a syncTarget that read the tags before the mark was
		// written holds tgtMu until its LUN is in place with the old size;
		// one that takes tgtMu later reads the mark (syncLUN). So no LUN is
		// made from the LV between lvextend and the end of the zeroing.
		p.tgtMu.Lock()
		// Nothing to do under the lock: only the ordering matters.
		p.tgtMu.Unlock()
		extendErr = p.lvm.ExtendLV(ctx, p.cfg.VolumeGroup, id, size)
		if errors.Is(extendErr, lvm.ErrNoSpace) {
			extendErr = fmt.Errorf("%w: %w", ErrNoSpace, extendErr)
		} else if extendErr != nil {
			extendErr = fmt.Errorf("growing %s: %w", id, extendErr)
		} else {
			klog.InfoS("Grew volume", "volumeID", id, "from", lv.Size, "to", size)
		}
		// Whatever lvextend did, the mark is cleared only after zeroing what
		// the LV has now.
		if lv, err = p.lvm.GetLV(ctx, p.cfg.VolumeGroup, id); err != nil {
			return errors.Join(extendErr, err)
		}
	}
	if info.growing {
		if err := p.zeroTail(ctx, lv, info.growFrom); err != nil {
			return errors.Join(extendErr, err)
		}
		if err := p.lvm.ChangeTags(ctx, p.cfg.VolumeGroup, id, nil, []string{growTag(info.growFrom)}); err != nil {
			return errors.Join(extendErr, fmt.Errorf("clearing the growth mark of %s: %w", id, err))
		}
	}
	return extendErr
}

// zeroTail zeroes lv from offset to its end.
func (p *Pool) zeroTail(ctx context.Context, lv *lvm.LV, from uint64) error {
	if lv.Size <= from {
		return nil
	}
	if !lv.Active {
		if err := p.lvm.Activate(ctx, p.cfg.VolumeGroup, lv.Name); err != nil {
			return fmt.Errorf("activating %s to zero its new space: %w", lv.Name, err)
		}
	}
	if err := p.blocks.ZeroRange(ctx, devicePath(p.cfg.VolumeGroup, lv), from, lv.Size-from); err != nil {
		return fmt.Errorf("zeroing the new space of %s: %w", lv.Name, err)
	}
	klog.InfoS("Zeroed the new space of a grown volume", "volumeID", lv.Name, "from", from, "to", lv.Size)
	return nil
}

// checkNotGrowing refuses to let tgtd read the size of volume id (a new
// LUN, a refresh) while its new space is not zeroed. It reads the tags
// afresh: callers hold tgtMu, which orders it against grow's barrier.
func (p *Pool) checkNotGrowing(ctx context.Context, id string) error {
	lv, err := p.lvm.GetLV(ctx, p.cfg.VolumeGroup, id)
	if err != nil {
		return err
	}
	if parseTags(lv.Tags).growing {
		return fmt.Errorf("%w: the space volume %s grew by is still being zeroed; it is exported once that is done", ErrInProgress, id)
	}
	return nil
}
