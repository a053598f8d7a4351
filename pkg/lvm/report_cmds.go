package lvm

import (
	"context"
	"slices"
	"strings"
)

// GetVG returns the volume group vg.
func (l *LVM) GetVG(ctx context.Context, vg string) (*VG, error) {
	op := "read volume group " + vg
	if err := checkVG(op, vg); err != nil {
		return nil, err
	}
	args := append(slices.Clone(reportArgs), "-o", vgFields, vg)
	out, err := l.command(ctx, "vgs", args...)
	if err != nil {
		e := classify(op, err)
		if slices.Contains(e.Kinds, ErrVGNotFound) {
			// The VG is what GetVG looks up: here a missing one is also
			// plainly not found.
			e.Kinds = append(e.Kinds, ErrNotFound)
		}
		return nil, e
	}
	vgs, err := parseVGs(out)
	if err != nil {
		return nil, err
	}
	for i := range vgs {
		if vgs[i].Name == vg {
			return &vgs[i], nil
		}
	}
	return nil, fail(op, ErrNotFound, "not in the vgs output")
}

// ListLVs returns the visible LVs of vg. Without -a lvs leaves out the
// hidden sub-LVs; parseLVs drops them as well in case a configuration adds
// them back.
func (l *LVM) ListLVs(ctx context.Context, vg string) ([]LV, error) {
	op := "list the logical volumes of " + vg
	if err := checkVG(op, vg); err != nil {
		return nil, err
	}
	lvs, err := l.lvs(ctx, op, vg)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(lvs, func(a, b LV) int { return strings.Compare(a.Name, b.Name) })
	return lvs, nil
}

// GetLV returns the LV vg/name.
func (l *LVM) GetLV(ctx context.Context, vg, name string) (*LV, error) {
	op := "read logical volume " + lvPath(vg, name)
	if err := checkLV(op, vg, name); err != nil {
		return nil, err
	}
	lvs, err := l.lvs(ctx, op, lvPath(vg, name))
	if err != nil {
		return nil, err
	}
	for i := range lvs {
		if lvs[i].Name == name {
			return &lvs[i], nil
		}
	}
	return nil, fail(op, ErrNotFound, "not in the lvs output")
}

// lvs reports the LVs that target (a VG, or VG/LV) names.
func (l *LVM) lvs(ctx context.Context, op, target string) ([]LV, error) {
	args := append(slices.Clone(reportArgs), "-o", lvFields, target)
	out, err := l.run(ctx, op, "lvs", args...)
	if err != nil {
		return nil, err
	}
	return parseLVs(out)
}
