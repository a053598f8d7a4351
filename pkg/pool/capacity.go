package pool

import (
	"context"
	"fmt"
)

// Capacity is how many bytes a new volume of that provisioning could have
// right now: the VG's free space for thick; for thin, what the
// overprovisioning ratio still allows over the thin pool, never more.
func (p *Pool) Capacity(ctx context.Context, prov Provisioning) (uint64, error) {
	if prov == Thin {
		if p.cfg.ThinPool == "" {
			return 0, nil
		}
		room, _, err := p.thinRoom(ctx)
		return room, err
	}
	vg, err := p.lvm.GetVG(ctx, p.cfg.VolumeGroup)
	if err != nil {
		return 0, fmt.Errorf("%w: volume group %s: %w", ErrUnavailable, p.cfg.VolumeGroup, err)
	}
	return vg.Free, nil
}

// thinRoom returns the virtual bytes still allowed in the thin pool and the
// pool's size: ratio × pool size − the virtual sizes already handed out.
func (p *Pool) thinRoom(ctx context.Context) (room, poolSize uint64, err error) {
	lvs, err := p.lvm.ListLVs(ctx, p.cfg.VolumeGroup)
	if err != nil {
		return 0, 0, err
	}
	var used uint64
	found := false
	for i := range lvs {
		lv := &lvs[i]
		switch {
		case lv.Name == p.cfg.ThinPool:
			poolSize, found = lv.Size, true
		case lv.PoolLV == p.cfg.ThinPool:
			used += lv.Size
		}
	}
	if !found {
		return 0, 0, fmt.Errorf("%w: thin pool %s/%s not found", ErrUnavailable, p.cfg.VolumeGroup, p.cfg.ThinPool)
	}
	allowed := uint64(float64(poolSize) * p.cfg.OverprovisionRatio)
	if used >= allowed {
		return 0, poolSize, nil
	}
	return allowed - used, poolSize, nil
}

// checkThinRoom refuses a thin volume the overprovisioning ratio does not
// allow, so the pool is never promised more than the administrator agreed to.
func (p *Pool) checkThinRoom(ctx context.Context, size uint64) error {
	if err := p.checkThinZeroing(ctx); err != nil {
		return err
	}
	room, poolSize, err := p.thinRoom(ctx)
	if err != nil {
		return err
	}
	if size > room {
		return fmt.Errorf("%w: thin pool %s (%d bytes, overprovisioning ratio %.2f) has room for %d more virtual bytes, %d asked",
			ErrNoSpace, p.cfg.ThinPool, poolSize, p.cfg.OverprovisionRatio, room, size)
	}
	return nil
}
