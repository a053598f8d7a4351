package pool

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// List returns every volume of ours, sorted by id (stable pagination).
func (p *Pool) List(ctx context.Context) ([]Volume, error) {
	return collect(ctx, p, func(lv *lvm.LV) (Volume, string, bool) {
		v, _, ok := volumeFromLV(lv)
		return v, v.ID, ok
	})
}

// collect reads every LV of the volume group and keeps what pick makes of
// the ones it accepts, sorted by the id pick gives.
func collect[T any](ctx context.Context, p *Pool, pick func(*lvm.LV) (T, string, bool)) ([]T, error) {
	lvs, _, err := p.listLVs(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: listing LVs: %w", ErrUnavailable, err)
	}
	type item struct {
		id string
		v  T
	}
	var items []item
	for i := range lvs {
		if v, id, ok := pick(&lvs[i]); ok {
			items = append(items, item{id, v})
		}
	}
	slices.SortFunc(items, func(a, b item) int { return strings.Compare(a.id, b.id) })
	out := make([]T, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out, nil
}
