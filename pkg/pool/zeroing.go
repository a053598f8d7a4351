package pool

import (
	"fmt"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// A thin pool zeroes a block before a thin LV first uses it, unless it was
// made with zeroing off (lvcreate -Z n, or lvm.conf's
// allocation/thin_pool_zero = 0): then a new thin volume, a grown one, or a
// thin snapshot's new blocks read whatever a deleted volume left there. The
// controller refuses such a pool unless the administrator accepted it with
// Config.AllowThinPoolWithoutZeroing (--allow-thin-pool-without-zeroing),
// for example because the pool's disk returns zeroes for discarded blocks
// and the pool passes discards down.

// thinZeroingProblem describes pool, when it does not zero new blocks.
func (p *Pool) thinZeroingProblem(pool *lvm.LV) string {
	if pool.ZeroesNewBlocks() {
		return ""
	}
	return fmt.Sprintf("thin pool %s/%s does not zero new blocks (lvs -o zero shows it empty), so a new or grown thin volume could read data of deleted ones; turn zeroing on with `lvchange -Z y %s/%s`",
		p.cfg.VolumeGroup, pool.Name, p.cfg.VolumeGroup, pool.Name)
}

// thinZeroingRefusal is the error that keeps thin volumes off a pool
// without zeroing, nil when the pool zeroes or the administrator accepted it.
// New thin space (volumes, snapshots, growth) is refused with it
// (checkThinRoomIn).
func (p *Pool) thinZeroingRefusal(pool *lvm.LV) error {
	problem := p.thinZeroingProblem(pool)
	if problem == "" || p.cfg.AllowThinPoolWithoutZeroing {
		return nil
	}
	return fmt.Errorf("%w: %s, or accept it with --allow-thin-pool-without-zeroing", ErrUnavailable, problem)
}

// warnThinZeroing logs a pool without zeroing at start-up and on every
// reconcile, as a warning when accepted and as an error when refused.
func (p *Pool) warnThinZeroing(pool *lvm.LV) {
	problem := p.thinZeroingProblem(pool)
	switch {
	case problem == "":
	case p.cfg.AllowThinPoolWithoutZeroing:
		klog.InfoS("WARNING: "+problem+"; accepted by --allow-thin-pool-without-zeroing: deleted thin volumes' data may reach new ones",
			"volumeGroup", p.cfg.VolumeGroup, "thinPool", p.cfg.ThinPool)
	default:
		klog.ErrorS(nil, "Refusing thin volumes: "+problem+", or accept it with --allow-thin-pool-without-zeroing",
			"volumeGroup", p.cfg.VolumeGroup, "thinPool", p.cfg.ThinPool)
	}
}
