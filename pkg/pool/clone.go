package pool

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// source is the data a new volume starts with.
type source struct {
	id       string // volume or snapshot id (the lic.src tag)
	lv       *lvm.LV
	size     uint64
	snapshot bool
}

func (p *Pool) resolveSource(ctx context.Context, req CreateRequest) (*source, error) {
	if req.SourceSnapshot != "" {
		s, err := p.GetSnapshot(ctx, req.SourceSnapshot)
		if err != nil {
			return nil, err
		}
		if s.Invalid {
			return nil, fmt.Errorf("%w: snapshot %s overflowed and was dropped by the kernel; its data is gone, delete it", ErrSnapshotInvalid, s.ID)
		}
		lv, err := p.lvm.GetLV(ctx, p.cfg.VolumeGroup, s.ID)
		if err != nil {
			return nil, err
		}
		return &source{id: s.ID, lv: lv, size: s.Size, snapshot: true}, nil
	}
	lv, v, err := p.getVolume(ctx, req.SourceVolume)
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

// maxFillAttempts bounds how often createFrom joins a job under the new
// volume's key that turns out not to be its fill: the reconciler removes at
// most two leftovers per clone (the LV and its scratch snapshot).
const maxFillAttempts = 4

// createFrom makes (or finishes making) volume id with src's data, as a job
// that outlives the call: when the call's context ends first the caller
// gets ErrInProgress and the retry waits for the same job.
//
// The job holds the source as read (sources.go) for as long as it copies,
// and reads it again under that mark: src was read before, and a delete may
// have started since.
func (p *Pool) createFrom(ctx context.Context, req CreateRequest, src *source, id string, size uint64) (Volume, error) {
	fill := func(ctx context.Context) error {
		release, err := p.sources.read(src.id)
		if err != nil {
			return err
		}
		defer release()
		now, err := p.resolveSource(ctx, req)
		if err != nil {
			return err
		}
		return p.fill(ctx, req, now, id, size)
	}
	for attempt := 1; ; attempt++ {
		if err := p.jobs.run(ctx, id, fill); err != nil {
			return Volume{}, err
		}
		lv, err := p.lvm.GetLV(ctx, p.cfg.VolumeGroup, id)
		if errors.Is(err, lvm.ErrNotFound) && attempt < maxFillAttempts {
			// The job this call joined was the reconciler removing an
			// earlier attempt's leftovers (the half-filled LV, then its
			// scratch snapshot) under the same key (reconcile.go), not a
			// fill: start over, or join the next one.
			klog.InfoS("An interrupted attempt was removed while this one waited; starting over", "volumeID", id)
			continue
		}
		if err != nil {
			return Volume{}, err
		}
		return existing(lv, req, id)
	}
}

// fill creates the LV if needed and puts src's data in it:
//   - thin from thin: a thin snapshot of the source made writable: instant,
//     shares blocks until either side writes;
//   - anything else: a block copy from a point-in-time source (the snapshot
//     itself, or a scratch snapshot of a source volume, so a volume in use
//     is copied as it was at one instant), then the rest of a larger thick
//     volume zeroed.
//
// The "creating" tag goes last, so the volume is reported only when whole.
func (p *Pool) fill(ctx context.Context, req CreateRequest, src *source, id string, size uint64) error {
	tags := append(requestTags(req), tagSrc+src.id, tagState+stateCreate)
	lv, err := p.lvm.GetLV(ctx, p.cfg.VolumeGroup, id)
	if err != nil && !errors.Is(err, lvm.ErrNotFound) {
		return err
	}
	if lv != nil {
		if info := parseTags(lv.Tags); info.ours && !info.creating && !info.deleting && info.src == src.id {
			// Filled by the job before this one, after the caller's
			// report said "creating": copying again would only redo it.
			return nil
		}
	}
	thinClone := req.Provisioning == Thin && src.lv.PoolLV == p.cfg.ThinPool && p.cfg.ThinPool != ""
	if lv != nil && !thinClone {
		// A copy interrupted in an earlier process cannot be trusted to be
		// complete anywhere: start it over in the same LV.
		klog.InfoS("Restarting an interrupted copy", "volumeID", id, "source", src.id)
	}
	if lv == nil {
		end, err := p.claimRoom(ctx, req.Provisioning, id, size)
		if err != nil {
			return err
		}
		if thinClone {
			lv, err = p.lvm.CreateSnapshot(ctx, p.cfg.VolumeGroup, src.lv.Name, lvm.CreateOptions{Name: id, Tags: tags})
		} else {
			lv, err = p.lvm.CreateLV(ctx, p.cfg.VolumeGroup, p.createOptions(req, id, size, tags))
		}
		// A thin clone's snapshot has its source's size until it is grown
		// below: the claim holds the size asked for until this returns.
		made := err == nil
		defer func() { end(made) }()
		if errors.Is(err, lvm.ErrNoSpace) {
			return fmt.Errorf("%w: %w", ErrNoSpace, err)
		}
		if err != nil {
			return err
		}
	}
	if thinClone {
		// Thin snapshots carry lvm's activation-skip flag; the new volume
		// must be active to be exported, and as large as asked.
		if err := p.lvm.Activate(ctx, p.cfg.VolumeGroup, id); err != nil {
			return err
		}
		if lv.Size < size {
			if err := p.lvm.ExtendLV(ctx, p.cfg.VolumeGroup, id, size); err != nil {
				return err
			}
		}
	} else if err := p.copyInto(ctx, src, lv, req.Provisioning == Thin); err != nil {
		return err
	}
	if err := p.lvm.ChangeTags(ctx, p.cfg.VolumeGroup, id, nil, []string{tagState + stateCreate}); err != nil {
		return err
	}
	klog.InfoS("Volume filled from its source", "volumeID", id, "source", src.id, "thinClone", thinClone)
	return nil
}

// copyInto copies src's data into dst, from a scratch snapshot when the
// source is a live volume, and zeroes what lies beyond it in a thick dst.
func (p *Pool) copyInto(ctx context.Context, src *source, dst *lvm.LV, thinDst bool) error {
	from := src.lv
	if !src.snapshot {
		scratch, err := p.scratchSnapshot(ctx, src.lv, dst.Name)
		if err != nil {
			return err
		}
		defer func() {
			// Its COW area holds the source's old blocks written during the
			// copy: wiped, not just removed (wipe.go).
			if err := p.wipeAndRemoveJob(context.WithoutCancel(ctx), scratch.Name); err != nil {
				klog.ErrorS(err, "Could not wipe and remove a clone's scratch snapshot; the reconciler will", "lv", scratch.Name)
			}
		}()
		from = scratch
	}
	if !from.Active || from.IsThinVolume() {
		if err := p.lvm.Activate(ctx, p.cfg.VolumeGroup, from.Name); err != nil {
			return fmt.Errorf("activating %s to read it: %w", from.Name, err)
		}
	}
	srcDev, dstDev := devicePath(p.cfg.VolumeGroup, from), devicePath(p.cfg.VolumeGroup, dst)
	// A thin destination reads zeros wherever nothing was written (the pool
	// zeroes new blocks), so zero blocks need not be copied.
	if err := p.blocks.Copy(ctx, srcDev, dstDev, src.size, thinDst); err != nil {
		return fmt.Errorf("copying %s into %s: %w", from.Name, dst.Name, err)
	}
	if src.snapshot {
		// A snapshot deleted during the copy may have been split from its
		// origin (wipe.go) under it: what was read is then not its data.
		if now, err := p.lvm.GetLV(ctx, p.cfg.VolumeGroup, from.Name); err != nil || parseTags(now.Tags).deleting || now.IsCOWSnapshot() != from.IsCOWSnapshot() {
			return fmt.Errorf("snapshot %s went away during the copy into %s (%v)", from.Name, dst.Name, err)
		}
	}
	if !thinDst && dst.Size > src.size {
		if err := p.blocks.ZeroRange(ctx, dstDev, src.size, dst.Size-src.size); err != nil {
			return fmt.Errorf("zeroing the tail of %s: %w", dst.Name, err)
		}
	}
	return nil
}

// scratchSnapshot takes (or finds) the point-in-time source of a clone of a
// live volume: thin for a thin origin, a full-size copy-on-write snapshot
// for a thick one.
func (p *Pool) scratchSnapshot(ctx context.Context, origin *lvm.LV, cloneID string) (*lvm.LV, error) {
	name := scratchName(cloneID)
	if _, err := p.lvm.GetLV(ctx, p.cfg.VolumeGroup, name); err == nil {
		// Left by an interrupted copy: its instant is not this one's.
		if err := p.wipeAndRemoveJob(ctx, name); err != nil {
			return nil, err
		}
	}
	opts := lvm.CreateOptions{Name: name, Tags: []string{tagOwner, tagKind + kindScratch, tagSrc + cloneID}}
	if !origin.IsThinVolume() {
		opts.Size = lvm.COWSize(origin.Size) // the source may be rewritten while it is copied
		if err := p.checkVGRoom(ctx, opts.Size); err != nil {
			return nil, err
		}
	}
	lv, err := p.lvm.CreateSnapshot(ctx, p.cfg.VolumeGroup, origin.Name, opts)
	if errors.Is(err, lvm.ErrNoSpace) {
		return nil, fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return lv, err
}
