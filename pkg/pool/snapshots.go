package pool

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// Snapshot is a point-in-time copy of a volume, kept as an LV that is never
// exported.
type Snapshot struct {
	ID             string
	Name           string
	SourceVolumeID string
	Size           uint64 // the source volume's size when taken
	CreatedAt      time.Time
	// Invalid: a copy-on-write snapshot dm-snapshot dropped (it
	// overflowed); its data is gone, it can only be deleted.
	Invalid bool
}

// CreateSnapshot takes a snapshot of a volume, or returns the one taken for
// the same name before. A thin volume gets a thin snapshot (instant, shares
// blocks with its origin). A thick volume gets a copy-on-write snapshot as
// large as the volume itself, so it can never fill up and become invalid,
// at the price of that much free space in the volume group and a copy of
// each origin block the first time it is written after the snapshot.
// Either way the snapshot is crash-consistent: what a sudden power cut
// would have left on the disk.
func (p *Pool) CreateSnapshot(ctx context.Context, name, sourceID string) (Snapshot, error) {
	if name == "" {
		return Snapshot{}, fmt.Errorf("%w: a name is required", ErrInvalid)
	}
	id := SnapshotID(name)
	// The source is read under its mark: a delete of the volume cannot
	// start until the snapshot exists (and then keeps it, or refuses). One
	// lvs, taken after the mark, answers the whole call (report.go); a
	// mark refused because a delete of the source is starting does not
	// keep a retry from finding its snapshot made.
	release, markErr := p.sources.read(sourceID)
	if markErr == nil {
		defer release()
	}
	r, err := p.readReport(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	if lv := r.lv(id); lv != nil {
		return existingSnapshot(lv, name, sourceID)
	}
	if markErr != nil {
		return Snapshot{}, markErr
	}
	src, v, err := r.volume(sourceID)
	if err != nil {
		return Snapshot{}, err
	}
	// The snapshot must not keep new space an interrupted expansion left
	// unzeroed (its size tag would let a restore copy it).
	if src, err = p.settleGrow(ctx, src); err != nil {
		return Snapshot{}, err
	}
	taken := time.Now().Unix()
	tags := []string{tagOwner, tagKind + kindSnap, tagName + b64.EncodeToString([]byte(name)), tagSrc + v.ID,
		tagProv + string(v.Provisioning), tagTime + strconv.FormatInt(taken, 10),
		tagSize + strconv.FormatUint(src.Size, 10)}
	opts := lvm.CreateOptions{Name: id, Tags: tags}
	end := func(bool) {}
	if src.IsThinVolume() {
		if end, err = p.claimThin(r, id, src.Size); err != nil {
			return Snapshot{}, err
		}
	} else {
		// Room for the whole origin to change (lvm.COWSize): a snapshot
		// as large as its origin is invalidated when every block is
		// rewritten, and its data lost. A VG without that room is
		// lvcreate's own refusal (ErrNoSpace).
		opts.Size = lvm.COWSize(src.Size)
	}
	// Not read back: a new snapshot is what its tags say, and valid.
	err = p.lvm.CreateSnapshotNoReport(ctx, p.cfg.VolumeGroup, src.Name, opts)
	end(err == nil)
	lv, raced, err := p.created(ctx, id, nil, err)
	if err != nil {
		return Snapshot{}, err
	}
	if raced {
		return existingSnapshot(lv, name, sourceID)
	}
	klog.InfoS("Took snapshot", "snapshotID", id, "name", name, "volumeID", v.ID)
	return Snapshot{ID: id, Name: name, SourceVolumeID: v.ID, Size: src.Size, CreatedAt: time.Unix(taken, 0)}, nil
}

func existingSnapshot(lv *lvm.LV, name, sourceID string) (Snapshot, error) {
	s, ok := snapshotFromLV(lv)
	switch {
	case !ok:
		return Snapshot{}, fmt.Errorf("%w: LV %s exists and is not a snapshot of this driver", ErrExists, lv.Name)
	case s.Name != name:
		return Snapshot{}, fmt.Errorf("%w: snapshot id %s belongs to another name", ErrExists, lv.Name)
	case s.SourceVolumeID != sourceID:
		return Snapshot{}, fmt.Errorf("%w: snapshot %q exists for volume %s", ErrExists, name, s.SourceVolumeID)
	}
	return s, nil
}

func snapshotFromLV(lv *lvm.LV) (Snapshot, bool) {
	info := parseTags(lv.Tags)
	if !info.ours || info.kind != kindSnap || !ValidSnapshotID(lv.Name) || info.deleting {
		return Snapshot{}, false
	}
	size := info.size
	if size == 0 {
		size = lv.Size
	}
	return Snapshot{ID: lv.Name, Name: info.name, SourceVolumeID: info.src, Size: size, CreatedAt: time.Unix(info.time, 0), Invalid: lv.IsInvalidSnapshot()}, true
}

// DeleteSnapshot removes a snapshot. Volumes restored from it are
// independent of it (thin clones share blocks through the pool, not through
// the snapshot LV; thick clones are copies), so it can go while they live.
// A thick snapshot's copy-on-write area holds old data of its origin and is
// wiped first (wipe.go), which takes as long as zeroing the volume: like a
// volume delete it is tagged "deleting" first, hidden from then on, runs as
// a job a retry waits for, and is finished by the reconciler after a crash.
// An unknown id is success.
func (p *Pool) DeleteSnapshot(ctx context.Context, id string) error {
	if !ValidSnapshotID(id) {
		return nil
	}
	// A restore copying from it (or about to) holds it as a source.
	done, err := p.sources.delete(id)
	if err != nil {
		return err
	}
	defer done()
	lv, err := p.lvm.GetLV(ctx, p.cfg.VolumeGroup, id)
	if errors.Is(err, lvm.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if info := parseTags(lv.Tags); !info.ours || info.kind != kindSnap {
		return nil
	} else if !info.deleting {
		if err := p.lvm.ChangeTags(ctx, p.cfg.VolumeGroup, id, []string{tagState + stateDelete}, nil); err != nil {
			return fmt.Errorf("marking snapshot %s for deletion: %w", id, err)
		}
	}
	if err := p.wipeAndRemoveJob(ctx, id); err != nil {
		return fmt.Errorf("removing snapshot %s: %w", id, err)
	}
	klog.InfoS("Deleted snapshot", "snapshotID", id)
	return nil
}

// GetSnapshot returns one snapshot.
func (p *Pool) GetSnapshot(ctx context.Context, id string) (Snapshot, error) {
	if !ValidSnapshotID(id) {
		return Snapshot{}, fmt.Errorf("%w: snapshot %q", ErrNotFound, id)
	}
	lv, err := p.lvm.GetLV(ctx, p.cfg.VolumeGroup, id)
	if errors.Is(err, lvm.ErrNotFound) {
		return Snapshot{}, fmt.Errorf("%w: snapshot %s", ErrNotFound, id)
	}
	if err != nil {
		return Snapshot{}, err
	}
	s, ok := snapshotFromLV(lv)
	if !ok {
		return Snapshot{}, fmt.Errorf("%w: snapshot %s", ErrNotFound, id)
	}
	return s, nil
}

// ListSnapshots returns every snapshot of ours, sorted by id.
func (p *Pool) ListSnapshots(ctx context.Context) ([]Snapshot, error) {
	return collect(ctx, p, func(lv *lvm.LV) (Snapshot, string, bool) {
		s, ok := snapshotFromLV(lv)
		return s, s.ID, ok
	})
}

// checkVGRoom refuses what the volume group's free space cannot hold.
func (p *Pool) checkVGRoom(ctx context.Context, size uint64) error {
	vg, err := p.lvm.GetVG(ctx, p.cfg.VolumeGroup)
	if err != nil {
		return fmt.Errorf("%w: volume group %s: %w", ErrUnavailable, p.cfg.VolumeGroup, err)
	}
	if vg.Free < size {
		return fmt.Errorf("%w: volume group %s has %d bytes free, %d needed", ErrNoSpace, vg.Name, vg.Free, size)
	}
	return nil
}
