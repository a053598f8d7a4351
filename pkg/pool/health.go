package pool

import (
	"context"
	"fmt"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// Health is an adverse condition of a volume as the storage host sees it.
type Health struct {
	Reason  string // CamelCase, for machines
	Message string
}

// ThinPoolUsage returns the thin pool's data and metadata use in percent.
func (p *Pool) ThinPoolUsage(ctx context.Context) (data, metadata float64, err error) {
	if p.cfg.ThinPool == "" {
		return 0, 0, nil
	}
	lv, err := p.lvm.GetLV(ctx, p.cfg.VolumeGroup, p.cfg.ThinPool)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: thin pool %s/%s: %w", ErrUnavailable, p.cfg.VolumeGroup, p.cfg.ThinPool, err)
	}
	return lv.DataPercent, lv.MetadataPercent, nil
}

// thinPoolProblem describes a thin pool past the warning threshold, or "".
// A full thin pool makes every thin volume's next new write fail (or hang,
// depending on the pool's error_if_no_space), so it is reported early.
func (p *Pool) thinPoolProblem(ctx context.Context) (string, error) {
	if p.cfg.ThinPool == "" || p.cfg.ThinPoolWarnPercent <= 0 {
		return "", nil
	}
	data, meta, err := p.ThinPoolUsage(ctx)
	if err != nil {
		return "", err
	}
	return p.thinPoolProblemAt(data, meta), nil
}

// thinPoolProblemAt is thinPoolProblem at a known use.
func (p *Pool) thinPoolProblemAt(data, meta float64) string {
	if p.cfg.ThinPool == "" || p.cfg.ThinPoolWarnPercent <= 0 {
		return ""
	}
	if data < p.cfg.ThinPoolWarnPercent && meta < p.cfg.ThinPoolWarnPercent {
		return ""
	}
	return fmt.Sprintf("thin pool %s/%s is %.1f%% full (data) and %.1f%% (metadata), past the %.0f%% warning threshold: extend it (lvextend) before thin volumes stop accepting writes",
		p.cfg.VolumeGroup, p.cfg.ThinPool, data, meta, p.cfg.ThinPoolWarnPercent)
}

// VolumeHealth returns the adverse conditions of volume id: a thin volume
// whose pool is nearly full, a published volume whose target tgtd lacks
// (health_targets.go).
func (p *Pool) VolumeHealth(ctx context.Context, id string) ([]Health, error) {
	v, err := p.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	problem := ""
	if v.Provisioning == Thin {
		if problem, err = p.thinPoolProblem(ctx); err != nil {
			return nil, err
		}
	}
	return healthOf(v, problem, p.targetHealth(ctx, []Volume{v})), nil
}

// healthOf is volume v's health while the thin pool has problem ("": none)
// and the published volumes' targets have targets (by volume id).
func healthOf(v Volume, thinPoolProblem string, targets map[string]Health) []Health {
	var out []Health
	if v.Provisioning == Thin && thinPoolProblem != "" {
		out = append(out, Health{Reason: "ThinPoolNearlyFull", Message: thinPoolProblem})
	}
	if h, ok := targets[v.ID]; ok {
		out = append(out, h)
	}
	return out
}

// warnThinPool logs the thin pool's condition when it is past the
// threshold (each reconcile pass does, from its listing, so the warning
// repeats while it lasts).
func (p *Pool) warnThinPool(pool *lvm.LV) {
	if problem := p.thinPoolProblemAt(pool.DataPercent, pool.MetadataPercent); problem != "" {
		klog.InfoS("WARNING: "+problem, "volumeGroup", p.cfg.VolumeGroup, "thinPool", p.cfg.ThinPool)
	}
}
