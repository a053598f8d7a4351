package pool

import (
	"context"
	"errors"
	"fmt"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// DefaultSize is used when the request names no size at all.
const DefaultSize = 1 << 30

// CreateRequest asks for a new volume.
type CreateRequest struct {
	Name         string
	RequiredSize uint64 // 0: no minimum
	LimitSize    uint64 // 0: no maximum
	Provisioning Provisioning
	// WriteCacheOff makes the volume's LUN write through (tag lic.wc=off;
	// export.go): every write reaches the LV before tgtd acknowledges it.
	WriteCacheOff bool
	// At most one of these: the new volume starts with that data.
	SourceSnapshot string
	SourceVolume   string
}

func (r CreateRequest) source() string { return r.SourceSnapshot + r.SourceVolume }

// Create makes a volume, or returns the one made for the same name before.
//
// An empty volume and all its tags are written by one lvcreate, so a crash
// leaves either nothing or a complete volume: there is no "creating" state to
// get stuck in (FAQ 3.1/3.3 in docs/design.md). A volume with a content source is
// created tagged "creating" and only reported once its data is complete (see
// clone.go); a crash leaves a "creating" LV that the reconciler removes, and
// the retry starts over.
func (p *Pool) Create(ctx context.Context, req CreateRequest) (Volume, error) {
	if req.Name == "" {
		return Volume{}, fmt.Errorf("%w: a name is required", ErrInvalid)
	}
	if req.SourceSnapshot != "" && req.SourceVolume != "" {
		return Volume{}, fmt.Errorf("%w: a volume has one content source at most", ErrInvalid)
	}
	if req.LimitSize != 0 && req.RequiredSize > req.LimitSize {
		return Volume{}, fmt.Errorf("%w: required size %d exceeds the limit %d", ErrInvalid, req.RequiredSize, req.LimitSize)
	}
	if req.Provisioning == Thin && p.cfg.ThinPool == "" {
		return Volume{}, fmt.Errorf("%w: thin provisioning asked for, but the driver has no --thin-pool", ErrInvalid)
	}
	id := VolumeID(req.Name)
	// A source is held as read (sources.go) from before the report is
	// taken, so what the report says of it holds until the volume is made:
	// no delete of it can start in between. A mark refused because such a
	// delete is starting does not keep a retry from finding its volume.
	var markErr error
	if req.source() != "" {
		var release func()
		if release, markErr = p.sources.read(req.source()); markErr == nil {
			defer release()
		}
	}
	// One lvs answers the whole call (report.go): whether the volume
	// exists, the source, and whether the thin pool has room.
	r, err := p.readReport(ctx)
	if err != nil {
		return Volume{}, err
	}
	extent, err := p.extentSize(ctx)
	if err != nil {
		return Volume{}, err
	}
	var src *source
	required := req.RequiredSize
	if req.source() != "" {
		if markErr != nil {
			if lv := r.lv(id); lv != nil {
				return existing(lv, req, id)
			}
			return Volume{}, markErr
		}
		if src, err = p.resolveSourceIn(ctx, r, req); err != nil {
			return Volume{}, err
		}
		// A restored volume is at least as large as its source.
		if req.LimitSize != 0 && src.size > req.LimitSize {
			return Volume{}, fmt.Errorf("%w: the source is %d bytes, more than the limit %d", ErrOutOfRange, src.size, req.LimitSize)
		}
		required = max(required, src.size)
	}
	size, err := roundSize(required, req.LimitSize, extent)
	if err != nil {
		return Volume{}, err
	}

	if lv := r.lv(id); lv != nil {
		if info := parseTags(lv.Tags); info.ours && info.creating && !info.deleting && src != nil && info.src == src.id {
			return p.createFrom(ctx, req, src, id, size) // resume
		}
		return existing(lv, req, id)
	}
	if src != nil {
		if p.thinCloneInOne(req, src, id, size) {
			return p.cloneThin(ctx, r, req, src, id) // clone_thin.go
		}
		return p.createFrom(ctx, req, src, id, size)
	}

	// A thin volume must fit the overprovisioning allowance, which lvm
	// does not know (claimed while lvcreate runs: thinclaims.go); a thick
	// one that the VG cannot hold is lvcreate's own refusal (ErrNoSpace),
	// no vgs needed.
	end := func(bool) {}
	if req.Provisioning == Thin {
		if end, err = p.claimThin(r, id, size); err != nil {
			return Volume{}, err
		}
	}
	// The LV and all its tags, in one command; it is not read back: it is
	// what was asked for, size included (whole extents already).
	tags := requestTags(req)
	err = p.lvm.CreateLVNoReport(ctx, p.cfg.VolumeGroup, p.createOptions(req, id, size, tags))
	end(err == nil)
	lv, raced, err := p.created(ctx, id, nil, err)
	if err != nil {
		return Volume{}, err
	}
	if raced {
		return existing(lv, req, id)
	}
	return Volume{ID: id, Name: req.Name, Size: size, Provisioning: req.Provisioning}, nil
}

// createOptions is the one mapping of a request to lvcreate's options, for
// an empty volume and for the target of a copy alike: a StorageClass
// parameter that changes how the LV is made is applied here.
func (p *Pool) createOptions(req CreateRequest, id string, size uint64, tags []string) lvm.CreateOptions {
	opts := lvm.CreateOptions{Name: id, Size: size, Tags: tags}
	if req.Provisioning == Thin {
		opts.ThinPool = p.cfg.ThinPool
	}
	return opts
}

// created reads lvcreate's answer for LV id: when an earlier or concurrent
// attempt made the LV first (raced), that LV is read back for the caller to
// judge; a full VG or thin pool is ErrNoSpace.
func (p *Pool) created(ctx context.Context, id string, lv *lvm.LV, err error) (_ *lvm.LV, raced bool, _ error) {
	switch {
	case errors.Is(err, lvm.ErrExists):
		lv, err = p.lvm.GetLV(ctx, p.cfg.VolumeGroup, id)
		return lv, true, err
	case errors.Is(err, lvm.ErrNoSpace):
		return nil, false, fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return lv, false, err
}

// claimRoom refuses new LV id of size bytes when the VG (thick) or the
// thin pool's overprovisioning allowance (thin) cannot hold it; a thin one
// is claimed until end is called with whether the LV was made
// (thinclaims.go).
func (p *Pool) claimRoom(ctx context.Context, prov Provisioning, id string, size uint64) (end func(made bool), err error) {
	if prov == Thin {
		r, err := p.readReport(ctx)
		if err != nil {
			return nil, err
		}
		return p.claimThin(r, id, size)
	}
	return func(bool) {}, p.checkVGRoom(ctx, size)
}

// existing decides whether an LV found under the id a request maps to is
// the answer to that request (idempotent retry) or a conflict.
func existing(lv *lvm.LV, req CreateRequest, id string) (Volume, error) {
	v, info, ok := volumeFromLV(lv)
	switch {
	case !info.ours || info.kind != "":
		return Volume{}, fmt.Errorf("%w: LV %s exists and is not a volume of this driver", ErrExists, id)
	case info.deleting:
		return Volume{}, fmt.Errorf("%w: volume %s is being deleted; retry later", ErrUnavailable, id)
	case info.name != req.Name:
		return Volume{}, fmt.Errorf("%w: volume id %s belongs to another name", ErrExists, id)
	case info.src != req.source():
		return Volume{}, fmt.Errorf("%w: volume %q exists with another content source (%q)", ErrExists, req.Name, info.src)
	case info.creating || !ok:
		return Volume{}, fmt.Errorf("%w: volume %s is still being filled", ErrInProgress, id)
	case req.RequiredSize > v.Size || (req.LimitSize != 0 && v.Size > req.LimitSize):
		return Volume{}, fmt.Errorf("%w: volume %q exists with size %d, outside the requested range", ErrExists, req.Name, v.Size)
	case info.prov != req.Provisioning:
		return Volume{}, fmt.Errorf("%w: volume %q exists with %s provisioning", ErrExists, req.Name, info.prov)
	case info.wcOff != req.WriteCacheOff:
		return Volume{}, fmt.Errorf("%w: volume %q exists with its write cache %s", ErrExists, req.Name, onOff(!info.wcOff))
	}
	return v, nil
}

// roundSize picks the size to allocate: the required size (or the default)
// rounded up to whole extents, within the limit.
func roundSize(required, limit, extent uint64) (uint64, error) {
	if extent == 0 {
		extent = 4 << 20
	}
	size := required
	if size == 0 {
		size = DefaultSize
		if limit != 0 && limit < size {
			size = limit
		}
	}
	size = (size + extent - 1) / extent * extent
	if limit != 0 && size > limit {
		return 0, fmt.Errorf("%w: %d bytes rounded up to whole %d-byte extents exceeds the limit %d", ErrOutOfRange, size, extent, limit)
	}
	return size, nil
}
