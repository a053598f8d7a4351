package lvm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
)

// alreadyBigEnough are lvextend's refusals when the LV already has at least
// the size asked for (recorded: testdata/lvextend-same, lvextend-smaller).
var alreadyBigEnough = []string{"matches existing size", "not larger than existing size"}

// ExtendLV grows vg/name to at least size bytes. It does not read the size
// first: lvextend's own refusal to "grow" to the current size or less is
// the no-op case, which also holds when a concurrent call got there first.
func (l *LVM) ExtendLV(ctx context.Context, vg, name string, size uint64) error {
	op := fmt.Sprintf("extend logical volume %s to %d bytes", lvPath(vg, name), size)
	if err := checkLV(op, vg, name); err != nil {
		return err
	}
	if size == 0 {
		return fail(op, ErrInvalid, "invalid size 0")
	}
	_, err := l.run(ctx, op, "lvextend", "-L", bytesArg(size), lvPath(vg, name))
	if err != nil && isAlreadyBigEnough(err) {
		return nil
	}
	return err
}

func isAlreadyBigEnough(err error) bool {
	var exitErr *runner.ExitError
	if !errors.As(err, &exitErr) {
		return false
	}
	for _, msg := range alreadyBigEnough {
		if strings.Contains(exitErr.Stderr, msg) {
			return true
		}
	}
	return false
}

// ChangeTags adds and deletes tags of vg/name in one lvchange, so the LV's
// recorded state never shows half of a change. Adding a tag it has or
// deleting one it lacks is not an error to lvm.
func (l *LVM) ChangeTags(ctx context.Context, vg, name string, add, del []string) error {
	op := "change the tags of logical volume " + lvPath(vg, name)
	if err := checkLV(op, vg, name); err != nil {
		return err
	}
	if err := checkTags(op, add); err != nil {
		return err
	}
	if err := checkTags(op, del); err != nil {
		return err
	}
	if len(add) == 0 && len(del) == 0 {
		return nil
	}
	args := append(tagArgs("--addtag", add), tagArgs("--deltag", del)...)
	_, err := l.run(ctx, op, "lvchange", append(args, lvPath(vg, name))...)
	return err
}

// Activate activates vg/name. -K (--ignoreactivationskip) is needed for
// thin snapshots, which lvcreate flags to skip activation; without it
// "lvchange -ay" succeeds and leaves them inactive (testdata/lvchange-activate-plain).
func (l *LVM) Activate(ctx context.Context, vg, name string) error {
	op := "activate logical volume " + lvPath(vg, name)
	if err := checkLV(op, vg, name); err != nil {
		return err
	}
	_, err := l.run(ctx, op, "lvchange", "-ay", "-K", lvPath(vg, name))
	return err
}
