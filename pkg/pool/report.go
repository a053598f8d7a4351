package pool

import (
	"context"
	"fmt"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// lvReport is one lvs of the whole volume group that a call takes once and
// asks every question it has of LVM: whether an LV exists and what its tags
// say, the thin pool's size, use and zeroing, the virtual sizes handed out,
// every publication (for the one-initiator-one-node check), an origin's COW
// snapshots. Every lvm command reads the whole VG's metadata and takes its
// lock whatever it reports, so one report costs what one GetLV costs, and a
// call that asked three questions ran three (issue 15).
//
// A report is a reading, not a lock: it is as current as the GetLV calls
// it replaces were, each of which could also be stale by the time it was
// acted on. What must be read afresh at a given point still is (under
// tgtMu: checkNotGrowing, the reconciler's listing).
type lvReport struct {
	lvs []lvm.LV
	// started is when its lvs started: what lvm had committed by then is
	// in it (thinclaims.go).
	started time.Time
}

// readReport lists every LV of the volume group; concurrent calls share
// one lvs that started after each of them asked (lvreads.go).
func (p *Pool) readReport(ctx context.Context) (*lvReport, error) {
	lvs, started, err := p.listLVs(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: listing the LVs of %s: %w", ErrUnavailable, p.cfg.VolumeGroup, err)
	}
	return &lvReport{lvs: lvs, started: started}, nil
}

// lv returns LV name of the report, nil when there is none. The pointer is
// into the report, so a caller that changes the tags can record it there.
func (r *lvReport) lv(name string) *lvm.LV {
	for i := range r.lvs {
		if r.lvs[i].Name == name {
			return &r.lvs[i]
		}
	}
	return nil
}

// volume is getVolume answered from the report.
func (r *lvReport) volume(id string) (*lvm.LV, Volume, error) {
	if !ValidVolumeID(id) {
		return nil, Volume{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	lv := r.lv(id)
	if lv == nil {
		return nil, Volume{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	v, _, ok := volumeFromLV(lv)
	if !ok {
		return nil, Volume{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return lv, v, nil
}

// cowSnapshotsOf lists the copy-on-write snapshots (ours or scratch) of
// thick LV id.
func (r *lvReport) cowSnapshotsOf(id string) []string {
	var out []string
	for _, lv := range r.lvs {
		if lv.Origin == id && lv.IsCOWSnapshot() {
			out = append(out, lv.Name)
		}
	}
	return out
}
