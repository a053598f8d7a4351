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

// SetLUNOnline takes a LUN offline (initiators get "not ready") or back
// online. tgtd refuses with ErrBusy while an initiator prevents removal.
func (t *Tgt) SetLUNOnline(ctx context.Context, tid, lun int, online bool) error {
	op := fmt.Sprintf("set lun %d of target %d online=%t", lun, tid, online)
	if err := firstError(checkTID(op, tid), checkLUN(op, lun)); err != nil {
		return err
	}
	return t.updateLUN(ctx, op, tid, lun, fmt.Sprintf("online=%d", boolInt(online)))
}

func (t *Tgt) updateLUN(ctx context.Context, op string, tid, lun int, params string) error {
	_, err := t.run(ctx, op, "update", "logicalunit", "--tid", itoa(tid), "--lun", itoa(lun), "--params", params)
	return err
}
