package pool

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// List returns every volume of ours, sorted by id (stable pagination).
func (p *Pool) List(ctx context.Context) ([]Volume, error) {
	lvs, err := p.lvm.ListLVs(ctx, p.cfg.VolumeGroup)
	if err != nil {
		return nil, fmt.Errorf("%w: listing LVs: %w", ErrUnavailable, err)
	}
	var vols []Volume
	for i := range lvs {
		if v, _, ok := volumeFromLV(&lvs[i]); ok {
			vols = append(vols, v)
		}
	}
	slices.SortFunc(vols, func(a, b Volume) int { return strings.Compare(a.ID, b.ID) })
	return vols, nil
}
