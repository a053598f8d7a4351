package tgt

import (
	"context"
	"fmt"

	"k8s.io/klog/v2"
)

// AddLUN exports backingStore (a block device or regular file) as LUN lun of
// target tid, then sets its SCSI id, serial and thin provisioning. tgtadm
// cannot do both in one call; if the second step fails the LUN is deleted
// again so that no LUN is left with tgt's default, target-derived serial.
func (t *Tgt) AddLUN(ctx context.Context, tid, lun int, backingStore string, p LUNParams) error {
	op := fmt.Sprintf("add lun %d to target %d", lun, tid)
	if err := firstError(checkTID(op, tid), checkLUN(op, lun), checkBackingStore(op, backingStore), checkLUNParams(op, p)); err != nil {
		return err
	}
	if _, err := t.run(ctx, op, "new", "logicalunit", "--tid", itoa(tid), "--lun", itoa(lun), "--backing-store", backingStore); err != nil {
		return err
	}
	if err := t.updateLUN(ctx, op, tid, lun, lunParams(p)); err != nil {
		if undoErr := t.DeleteLUN(ctx, tid, lun); undoErr != nil {
			klog.ErrorS(undoErr, "Could not remove a LUN whose parameters failed to apply", "tid", tid, "lun", lun)
		}
		return err
	}
	return nil
}

// DeleteLUN removes LUN lun from target tid.
func (t *Tgt) DeleteLUN(ctx context.Context, tid, lun int) error {
	op := fmt.Sprintf("delete lun %d of target %d", lun, tid)
	if err := firstError(checkTID(op, tid), checkLUN(op, lun)); err != nil {
		return err
	}
	_, err := t.run(ctx, op, "delete", "logicalunit", "--tid", itoa(tid), "--lun", itoa(lun))
	return err
}

// RefreshLUN makes tgtd re-read the size of a LUN's backing store after it
// grew (lvextend). tgt has no resize operation: it records a LUN's size when
// the backing store is opened, and reopening it (a path update) is only
// allowed while the LUN is marked offline. The LUN, its serial and the
// sessions stay, so initiators only need a rescan to see the new capacity.
// For a non-removable disk the offline flag does not stop I/O, though, and
// tgtd's I/O threads read the descriptor the reopen replaces without a
// lock: callers make sure no command of the target is in flight (pkg/pool
// refresh.go).
func (t *Tgt) RefreshLUN(ctx context.Context, tid, lun int, backingStore string) error {
	op := fmt.Sprintf("refresh lun %d of target %d", lun, tid)
	if err := firstError(checkTID(op, tid), checkLUN(op, lun), checkBackingStore(op, backingStore)); err != nil {
		return err
	}
	if err := t.updateLUN(ctx, op, tid, lun, "online=0"); err != nil {
		return err
	}
	if err := t.updateLUN(ctx, op, tid, lun, "path="+backingStore); err != nil {
		// Leave the LUN online whatever happened: offline it would refuse
		// the next refresh's path update only, but say it as it is.
		if onErr := t.updateLUN(ctx, op, tid, lun, "online=1"); onErr != nil {
			klog.ErrorS(onErr, "Could not set a LUN online again after a failed refresh", "tid", tid, "lun", lun)
		}
		return err
	}
	return nil
}

func (t *Tgt) updateLUN(ctx context.Context, op string, tid, lun int, params string) error {
	_, err := t.run(ctx, op, "update", "logicalunit", "--tid", itoa(tid), "--lun", itoa(lun), "--params", params)
	return err
}
