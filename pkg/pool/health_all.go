package pool

import (
	"context"
	"fmt"
)

// AllHealthReport is every volume's health and the thin pool's use at one
// moment (for the controller's events, pkg/events).
type AllHealthReport struct {
	ThinPool       string // "vg/pool", "" without one
	Data, Metadata float64
	Volumes        []VolumeHealthReport
}

// VolumeHealthReport is one volume and its adverse conditions.
type VolumeHealthReport struct {
	Volume Volume
	Health []Health
}

// AllHealth returns what VolumeHealth returns for every volume, from one
// listing of the volume group (the thin pool is one of its LVs): it runs
// every reconcile interval, where VolumeHealth per volume would cost two
// lvm commands a volume; tgtd is read once, and only when a volume is
// published.
func (p *Pool) AllHealth(ctx context.Context) (AllHealthReport, error) {
	var r AllHealthReport
	lvs, err := p.lvm.ListLVs(ctx, p.cfg.VolumeGroup)
	if err != nil {
		return r, fmt.Errorf("%w: listing LVs: %w", ErrUnavailable, err)
	}
	if p.cfg.ThinPool != "" {
		found := false
		for i := range lvs {
			if lvs[i].Name == p.cfg.ThinPool {
				r.ThinPool = p.cfg.VolumeGroup + "/" + p.cfg.ThinPool
				r.Data, r.Metadata, found = lvs[i].DataPercent, lvs[i].MetadataPercent, true
			}
		}
		if !found {
			return r, fmt.Errorf("%w: thin pool %s/%s not found", ErrUnavailable, p.cfg.VolumeGroup, p.cfg.ThinPool)
		}
	}
	problem := p.thinPoolProblemAt(r.Data, r.Metadata)
	var vols []Volume
	for i := range lvs {
		if v, _, ok := volumeFromLV(&lvs[i]); ok {
			vols = append(vols, v)
		}
	}
	targets := p.targetHealth(ctx, vols)
	for _, v := range vols {
		r.Volumes = append(r.Volumes, VolumeHealthReport{Volume: v, Health: healthOf(v, problem, targets)})
	}
	return r, nil
}
