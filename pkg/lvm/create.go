package lvm

import (
	"context"
	"fmt"
)

// CreateOptions describes a new LV or snapshot. It sits next to the argv
// it becomes, so an option of lvcreate is added in this one file.
type CreateOptions struct {
	Name     string
	Size     uint64 // bytes; the caller has rounded it to the extent size
	ThinPool string // non-empty: a thin LV (-V) in that pool of the VG
	Tags     []string
	// NoActivationSkip makes a snapshot without lvm's activation skip
	// flag (--setactivationskip n), which lvcreate otherwise sets on thin
	// snapshots: the snapshot is then activated by lvcreate itself, and
	// by every later activation of the VG, like any volume. For a thin
	// snapshot that is a volume of its own (a clone), it saves the
	// lvchange -ay -K that would activate it.
	NoActivationSkip bool
}

// CreateLV creates a thick LV, or a thin LV in opts.ThinPool, and returns
// it as lvs reports it.
//
// Thick LVs get --wipesignatures y and -Zy so that a filesystem signature
// left on the extents by an earlier LV never shows through. lvm rejects -Z
// for thin LVs ("--zero is supported only with thin pool creation"): they
// read back zeroes until written anyway.
func (l *LVM) CreateLV(ctx context.Context, vg string, opts CreateOptions) (*LV, error) {
	if err := l.CreateLVNoReport(ctx, vg, opts); err != nil {
		return nil, err
	}
	return l.GetLV(ctx, vg, opts.Name)
}

// CreateLVNoReport is CreateLV without the lvs that reads the new LV back:
// one lvm command instead of two, for a caller that needs nothing of the
// LV but what it asked for (its size is opts.Size, already whole extents).
func (l *LVM) CreateLVNoReport(ctx context.Context, vg string, opts CreateOptions) error {
	op := "create logical volume " + lvPath(vg, opts.Name)
	if err := checkCreate(op, vg, opts); err != nil {
		return err
	}
	if opts.Size == 0 {
		return fail(op, ErrInvalid, "invalid size 0")
	}
	args := []string{"-y", "--wipesignatures", "y"}
	if opts.ThinPool == "" {
		args = append(args, "-Zy", "-n", opts.Name, "-L", bytesArg(opts.Size))
	} else {
		if !ValidLVName(opts.ThinPool) {
			return fail(op, ErrInvalid, "invalid thin pool name %q", opts.ThinPool)
		}
		args = append(args, "-n", opts.Name, "-V", bytesArg(opts.Size), "--thinpool", opts.ThinPool)
	}
	args = append(args, tagArgs("--addtag", opts.Tags)...)
	args = append(args, vg)
	_, err := l.run(ctx, op, "lvcreate", args...)
	return err
}

// CreateSnapshot snapshots vg/origin. Size 0 makes a thin snapshot, which
// lvm only allows of a thin origin (ErrInvalid otherwise) and creates with
// the activation skip flag; Size > 0 makes a thick COW snapshot with that
// much COW space (lvm trims it to what the origin's size can use).
// No signature wiping here: the snapshot's content is the origin's.
func (l *LVM) CreateSnapshot(ctx context.Context, vg, origin string, opts CreateOptions) (*LV, error) {
	if err := l.CreateSnapshotNoReport(ctx, vg, origin, opts); err != nil {
		return nil, err
	}
	return l.GetLV(ctx, vg, opts.Name)
}

// CreateSnapshotNoReport is CreateSnapshot without the lvs that reads the
// snapshot back.
func (l *LVM) CreateSnapshotNoReport(ctx context.Context, vg, origin string, opts CreateOptions) error {
	op := fmt.Sprintf("snapshot logical volume %s as %s", lvPath(vg, origin), opts.Name)
	if err := checkCreate(op, vg, opts); err != nil {
		return err
	}
	if !ValidLVName(origin) {
		return fail(op, ErrInvalid, "invalid origin name %q", origin)
	}
	args := []string{"-y", "-n", opts.Name, "-s"}
	if opts.NoActivationSkip {
		args = append(args, "--setactivationskip", "n")
	}
	if opts.Size > 0 {
		args = append(args, "-L", bytesArg(opts.Size))
	}
	args = append(args, lvPath(vg, origin))
	args = append(args, tagArgs("--addtag", opts.Tags)...)
	_, err := l.run(ctx, op, "lvcreate", args...)
	return err
}

// checkCreate validates the names and tags of a create request.
func checkCreate(op, vg string, opts CreateOptions) error {
	if err := checkLV(op, vg, opts.Name); err != nil {
		return err
	}
	return checkTags(op, opts.Tags)
}
