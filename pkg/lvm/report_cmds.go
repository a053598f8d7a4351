package lvm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// GetVG returns the volume group vg.
func (l *LVM) GetVG(ctx context.Context, vg string) (*VG, error) {
	if !validVGName(vg) {
		return nil, fmt.Errorf("%w: volume group name %q", ErrInvalid, vg)
	}
	args := append(slices.Clone(reportArgs), "-o", vgFields, vg)
	out, err := l.run(ctx, "vgs", args...)
	if errors.Is(err, ErrVGNotFound) {
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	if err != nil {
		return nil, err
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
	return nil, fmt.Errorf("%w: volume group %q missing from vgs output", ErrNotFound, vg)
}

// ListLVs returns the visible LVs of vg. Without -a lvs leaves out the
// hidden sub-LVs; parseLVs drops them as well in case a configuration adds
// them back.
func (l *LVM) ListLVs(ctx context.Context, vg string) ([]LV, error) {
	if !validVGName(vg) {
		return nil, fmt.Errorf("%w: volume group name %q", ErrInvalid, vg)
	}
	args := append(slices.Clone(reportArgs), "-o", lvFields, vg)
	out, err := l.run(ctx, "lvs", args...)
	if err != nil {
		return nil, err
	}
	lvs, err := parseLVs(out)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(lvs, func(a, b LV) int { return strings.Compare(a.Name, b.Name) })
	return lvs, nil
}

// GetLV returns the LV vg/name.
func (l *LVM) GetLV(ctx context.Context, vg, name string) (*LV, error) {
	if err := checkLV(vg, name); err != nil {
		return nil, err
	}
	args := append(slices.Clone(reportArgs), "-o", lvFields, lvPath(vg, name))
	out, err := l.run(ctx, "lvs", args...)
	if err != nil {
		return nil, err
	}
	lvs, err := parseLVs(out)
	if err != nil {
		return nil, err
	}
	for i := range lvs {
		if lvs[i].Name == name {
			return &lvs[i], nil
		}
	}
	return nil, fmt.Errorf("%w: logical volume %s missing from lvs output", ErrNotFound, lvPath(vg, name))
}
