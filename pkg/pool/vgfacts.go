package pool

import (
	"context"
	"fmt"
	"sync"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// vgFacts keeps what a call needs of the volume group itself, its extent
// size (sizes are rounded to it), so that CreateVolume and
// ControllerExpandVolume need no vgs of their own: lvs does not print it,
// and a vgs costs as much as any lvm command. The extent size is set at
// vgcreate and changes only by an administrator's vgchange -s, so the
// cache is refreshed by every reading of the VG the controller makes
// anyway: Probe's readiness check (every few seconds while the CO probes)
// and each reconcile pass (recordVG). Free space is not cached: a full VG
// is lvcreate's and lvextend's own refusal (ErrNoSpace), or a fresh vgs
// where a check must come first (thick growth, which tags before it
// extends).
type vgFacts struct {
	mu         sync.Mutex
	extentSize uint64
}

// noteVG records a reading of the volume group.
func (p *Pool) noteVG(vg *lvm.VG) {
	p.vg.mu.Lock()
	defer p.vg.mu.Unlock()
	p.vg.extentSize = vg.ExtentSize
}

// extentSize is the volume group's extent size, read once if no reading of
// the VG has been made yet.
func (p *Pool) extentSize(ctx context.Context) (uint64, error) {
	p.vg.mu.Lock()
	n := p.vg.extentSize
	p.vg.mu.Unlock()
	if n != 0 {
		return n, nil
	}
	vg, err := p.lvm.GetVG(ctx, p.cfg.VolumeGroup)
	if err != nil {
		return 0, fmt.Errorf("%w: volume group %s: %w", ErrUnavailable, p.cfg.VolumeGroup, err)
	}
	p.noteVG(vg)
	return vg.ExtentSize, nil
}
