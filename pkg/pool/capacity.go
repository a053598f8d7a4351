package pool

import (
	"context"
	"fmt"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// Capacity is how many bytes a new volume of that provisioning could have
// right now: the VG's free space for thick; for thin, what the
// overprovisioning ratio still allows over the thin pool, never more.
func (p *Pool) Capacity(ctx context.Context, prov Provisioning) (uint64, error) {
	if prov == Thin {
		if p.cfg.ThinPool == "" {
			return 0, nil
		}
		room, pool, err := p.thinRoom(ctx)
		if err != nil || p.thinPoolFull(pool) != nil {
			return 0, err
		}
		return room, nil
	}
	vg, err := p.lvm.GetVG(ctx, p.cfg.VolumeGroup)
	if err != nil {
		return 0, fmt.Errorf("%w: volume group %s: %w", ErrUnavailable, p.cfg.VolumeGroup, err)
	}
	return vg.Free, nil
}

// thinRoom returns the virtual bytes still allowed in the thin pool and the
// pool's LV: ratio × pool size − the virtual sizes already handed out.
func (p *Pool) thinRoom(ctx context.Context) (room uint64, pool *lvm.LV, err error) {
	r, err := p.readReport(ctx)
	if err != nil {
		return 0, nil, err
	}
	return p.thinRoomIn(r)
}

// thinRoomIn is thinRoom answered from a report the caller took.
func (p *Pool) thinRoomIn(r *lvReport) (room uint64, pool *lvm.LV, err error) {
	var used uint64
	for i := range r.lvs {
		lv := &r.lvs[i]
		switch {
		case lv.Name == p.cfg.ThinPool:
			pool = lv
		case lv.PoolLV == p.cfg.ThinPool:
			used += lv.Size
		}
	}
	if pool == nil {
		return 0, nil, fmt.Errorf("%w: thin pool %s/%s not found", ErrUnavailable, p.cfg.VolumeGroup, p.cfg.ThinPool)
	}
	allowed := uint64(float64(pool.Size) * p.cfg.OverprovisionRatio)
	if used >= allowed {
		return 0, pool, nil
	}
	return allowed - used, pool, nil
}

// thinPoolFull refuses new thin allocations once the pool's data or
// metadata use reaches --thin-pool-full-percent: a thin pool that runs out
// of data space fails (or queues) every write of every thin volume, one
// out of metadata space can need lvconvert --repair, so the last space is
// kept for the writes of the volumes that exist. Metadata is reported
// apart from data: growing one does not help the other.
func (p *Pool) thinPoolFull(pool *lvm.LV) error {
	limit := p.cfg.ThinPoolFullPercent
	if limit <= 0 {
		return nil
	}
	if pool.DataPercent >= limit {
		return fmt.Errorf("%w: thin pool %s/%s data is %.1f%% used (refusing new thin volumes, snapshots and clones at --thin-pool-full-percent=%g); grow the pool with lvextend or enable lvm's thin_pool_autoextend (docs/snapshots-and-expansion.md)",
			ErrNoSpace, p.cfg.VolumeGroup, p.cfg.ThinPool, pool.DataPercent, limit)
	}
	if pool.MetadataPercent >= limit {
		return fmt.Errorf("%w: thin pool %s/%s metadata is %.1f%% used (refusing new thin volumes, snapshots and clones at --thin-pool-full-percent=%g); grow the metadata with lvextend --poolmetadatasize (docs/snapshots-and-expansion.md)",
			ErrNoSpace, p.cfg.VolumeGroup, p.cfg.ThinPool, pool.MetadataPercent, limit)
	}
	return nil
}

// checkThinRoomIn refuses a thin volume (or growth) of size virtual bytes
// the overprovisioning ratio does not allow, so the pool is never promised
// more than the administrator agreed to, answered from a report the caller
// took: the pool's zeroing (zeroing.go), its fill level and the
// overprovisioning allowance all come from the pool's row and the thin
// LVs' sizes in it; claimed is what calls under way hold that the report
// does not show (thinclaims.go).
func (p *Pool) checkThinRoomIn(r *lvReport, size, claimed uint64) error {
	room, pool, err := p.thinRoomIn(r)
	if err != nil {
		return err
	}
	if err := p.thinZeroingRefusal(pool); err != nil {
		return err
	}
	if err := p.thinPoolFull(pool); err != nil {
		return err
	}
	if size > room || claimed > room-size {
		return fmt.Errorf("%w: thin pool %s (%d bytes, overprovisioning ratio %.2f) has room for %d more virtual bytes%s, %d asked",
			ErrNoSpace, p.cfg.ThinPool, pool.Size, p.cfg.OverprovisionRatio, room, claimedText(claimed), size)
	}
	return nil
}
