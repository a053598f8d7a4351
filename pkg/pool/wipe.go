package pool

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// Extents that held a tenant's data are zeroed before lvm may hand them to
// anyone else (docs/security.md, "Data remanence"):
//
//   - a thick LV (a volume, a half-copied clone) is zeroed as it is;
//   - a thick copy-on-write snapshot (a snapshot of a thick volume, a
//     clone's scratch snapshot) keeps the origin's old data in its COW
//     area, the hidden "<name>-cow" device. Zeroing the snapshot device
//     would not reach it: a write to the snapshot goes to a newly allocated
//     COW chunk and leaves the chunks holding old data as they are, and a
//     full-size write overflows the COW area and invalidates the snapshot
//     half-way. lvm's documented way (lvconvert(8), --splitsnapshot: "This
//     LV can be wiped and then destroyed with lvremove") is to split the
//     snapshot from its origin first: the COW area, exception table
//     included, becomes a plain LV of the same name and tags, which is
//     then zeroed whole like a thick volume;
//   - a thin LV (volume, snapshot, scratch) is removed as it is: its blocks
//     go back to the thin pool, which zeroes a block before a thin LV first
//     uses it. Pools without zeroing are refused (zeroing.go).

// wipeAndRemoveJob runs wipeAndRemove as a job keyed like a volume delete,
// so a wipe outlives the call that started it and a second caller (a retry,
// the reconciler, a clone retry finding the same scratch snapshot) waits for
// it instead of wiping the same LV at the same time.
func (p *Pool) wipeAndRemoveJob(ctx context.Context, name string) error {
	return p.jobs.run(ctx, deleteJob(name), func(ctx context.Context) error { return p.wipeAndRemove(ctx, name) })
}

// wipeAndRemove removes an LV of ours, zeroing whatever of it could still
// hold data first. Every step reads the LV again, so it resumes after a
// crash at any point (a split snapshot is wiped as a plain LV). An LV that
// is not ours is never touched; one that is gone is done.
func (p *Pool) wipeAndRemove(ctx context.Context, name string) error {
	lv, err := p.lvm.GetLV(ctx, p.cfg.VolumeGroup, name)
	if errors.Is(err, lvm.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !parseTags(lv.Tags).ours {
		return fmt.Errorf("refusing to wipe %s/%s: not an LV of this driver", p.cfg.VolumeGroup, name)
	}
	if lv.IsCOWSnapshot() {
		if err := p.lvm.SplitSnapshot(ctx, p.cfg.VolumeGroup, name); err != nil && !errors.Is(err, lvm.ErrInvalid) {
			return fmt.Errorf("splitting the COW area of %s from its origin to wipe it: %w", name, err)
		}
		// ErrInvalid: split already, by a run a crash or a concurrent
		// caller interrupted. Either way, read what is there now.
		if lv, err = p.lvm.GetLV(ctx, p.cfg.VolumeGroup, name); err != nil {
			return err
		}
		if lv.IsCOWSnapshot() {
			return fmt.Errorf("%s is still a COW snapshot after the split", name)
		}
	}
	if !lv.IsThinVolume() && !lv.IsThinPool() {
		if err := p.zeroLV(ctx, lv); err != nil {
			return err
		}
	}
	if err := p.lvm.RemoveLV(ctx, p.cfg.VolumeGroup, name); err != nil && !errors.Is(err, lvm.ErrNotFound) {
		return fmt.Errorf("removing %s: %w", name, err)
	}
	klog.V(2).InfoS("Removed an LV after wiping it", "lv", name, "thin", lv.IsThinVolume())
	return nil
}

// zeroLV writes zeroes over a whole thick LV, activating it first.
func (p *Pool) zeroLV(ctx context.Context, lv *lvm.LV) error {
	if !lv.Active {
		if err := p.lvm.Activate(ctx, p.cfg.VolumeGroup, lv.Name); err != nil {
			return fmt.Errorf("activating %s to wipe it: %w", lv.Name, err)
		}
	}
	if err := p.blocks.Zero(ctx, devicePath(p.cfg.VolumeGroup, lv)); err != nil {
		return fmt.Errorf("zeroing %s before removal: %w", lv.Name, err)
	}
	p.countZeroed(lv.Size)
	return nil
}
