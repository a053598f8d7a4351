package lvm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/toolerr"
)

// RemoveLV removes vg/name.
//
// lvremove needs -y for an active LV (it asks otherwise, and the empty
// stdin answers no), but -y also answers yes to "remove origin with its N
// snapshots" and "remove pool with its N thin volumes". So RemoveLV looks
// for such dependents first and refuses with ErrHasDependents. A thin
// origin has none: its thin snapshots outlive it.
func (l *LVM) RemoveLV(ctx context.Context, vg, name string) error {
	op := "remove logical volume " + lvPath(vg, name)
	if err := checkLV(op, vg, name); err != nil {
		return err
	}
	lvs, err := l.ListLVs(ctx, vg)
	if err != nil {
		return err
	}
	if err := checkRemovable(op, lvs, name); err != nil {
		return err
	}
	return l.lvremove(ctx, op, vg, name)
}

// lvremove runs lvremove -y on an LV whose dependents were checked, again
// while the device is briefly open.
func (l *LVM) lvremove(ctx context.Context, op, vg, name string) error {
	for attempt := 0; ; attempt++ {
		_, err := l.run(ctx, op, "lvremove", "-y", lvPath(vg, name))
		if err == nil || !retryableInUse(err) || attempt >= len(l.removeRetryDelays) {
			return err
		}
		klog.V(2).InfoS("Logical volume busy, retrying removal", "lv", lvPath(vg, name), "attempt", attempt+1, "err", err)
		if err := sleep(ctx, l.removeRetryDelays[attempt]); err != nil {
			return &toolerr.Error{Tool: tool, Op: op, Err: fmt.Errorf("waiting to retry: %w", err)}
		}
	}
}

// checkRemovable returns ErrNotFound when name is not among lvs and
// ErrHasDependents when removing it would take other LVs along.
func checkRemovable(op string, lvs []LV, name string) error {
	var target *LV
	for i := range lvs {
		if lvs[i].Name == name {
			target = &lvs[i]
		}
	}
	if target == nil {
		return fail(op, ErrNotFound, "no such logical volume in the volume group")
	}
	var dependents []string
	for i := range lvs {
		lv := &lvs[i]
		if lv.IsCOWSnapshot() && lv.Origin == name || target.IsThinPool() && lv.PoolLV == name {
			dependents = append(dependents, lv.Name)
		}
	}
	if len(dependents) > 0 {
		return fail(op, ErrHasDependents, "it has dependent snapshots or thin volumes: %s", strings.Join(dependents, ", "))
	}
	return nil
}

// retryableInUse reports whether err is an open device, which may be
// udev's probe and pass; dependents do not go away by waiting.
func retryableInUse(err error) bool {
	return errors.Is(err, ErrInUse) && !errors.Is(err, ErrHasDependents)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
