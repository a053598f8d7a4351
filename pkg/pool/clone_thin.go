package pool

import (
	"context"
	"fmt"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// resolveSourceIn is resolveSource answered from the call's report: the
// snapshot or volume req names, as r shows it. The caller holds the source
// as read (sources.go) since before r was taken, so no delete of it can
// have started since (one that started before has tagged it, and r shows
// that: not found).
func (p *Pool) resolveSourceIn(ctx context.Context, r *lvReport, req CreateRequest) (*source, error) {
	if req.SourceSnapshot != "" {
		id := req.SourceSnapshot
		var lv *lvm.LV
		if ValidSnapshotID(id) {
			lv = r.lv(id)
		}
		if lv == nil {
			return nil, fmt.Errorf("%w: snapshot %s", ErrNotFound, id)
		}
		s, ok := snapshotFromLV(lv)
		if !ok {
			return nil, fmt.Errorf("%w: snapshot %s", ErrNotFound, id)
		}
		if s.Invalid {
			return nil, fmt.Errorf("%w: snapshot %s overflowed and was dropped by the kernel; its data is gone, delete it", ErrSnapshotInvalid, s.ID)
		}
		return &source{id: s.ID, lv: lv, size: s.Size, snapshot: true}, nil
	}
	lv, v, err := r.volume(req.SourceVolume)
	if err != nil {
		return nil, err
	}
	// The source's size bounds the copy: new space an interrupted expansion
	// left unzeroed must be zeroed before it counts.
	if lv, err = p.settleGrow(ctx, lv); err != nil {
		return nil, err
	}
	return &source{id: v.ID, lv: lv, size: lv.Size}, nil
}

// thinCloneInOne reports whether the volume id can be made from src by one
// lvcreate: a thin snapshot of a thin source of our pool (instant, all the
// data there the moment it exists) that needs no lvextend after it (the
// source is at least as large as the volume asked for), with no earlier
// attempt's job under id still running (a fill, or the reconciler removing
// what an interrupted one left: those finish through createFrom).
func (p *Pool) thinCloneInOne(req CreateRequest, src *source, id string, size uint64) bool {
	return req.Provisioning == Thin && p.cfg.ThinPool != "" && src.lv.PoolLV == p.cfg.ThinPool &&
		src.lv.Size >= size && !p.jobs.busy(id)
}

// cloneThin makes volume id as a thin snapshot of src in one lvcreate -s,
// with the volume's final tags and without lvm's activation skip flag, so
// that lvcreate activates it: the volume is whole when the command
// returns, like an empty volume's lvcreate (create.go), and a crash leaves
// nothing or all of it. There is no "creating" state to write or drop
// (that is for copies, which take time), no lvchange -ay -K, and the LV is
// not read back. Where a fill would re-read the source under the source's
// mark, the caller's report was already read under it.
func (p *Pool) cloneThin(ctx context.Context, r *lvReport, req CreateRequest, src *source, id string) (Volume, error) {
	// The new thin LV's virtual size is its source's.
	end, err := p.claimThin(r, id, src.lv.Size)
	if err != nil {
		return Volume{}, err
	}
	tags := append(requestTags(req), tagSrc+src.id)
	opts := lvm.CreateOptions{Name: id, Tags: tags, NoActivationSkip: true}
	err = p.lvm.CreateSnapshotNoReport(ctx, p.cfg.VolumeGroup, src.lv.Name, opts)
	end(err == nil)
	lv, raced, err := p.created(ctx, id, nil, err)
	if err != nil {
		return Volume{}, err
	}
	if raced {
		return existing(lv, req, id)
	}
	klog.InfoS("Volume made from its source", "volumeID", id, "source", src.id, "thinClone", true)
	return Volume{ID: id, Name: req.Name, Size: src.lv.Size, Provisioning: req.Provisioning, Source: src.id}, nil
}
