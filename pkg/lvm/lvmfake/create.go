package lvmfake

import (
	"context"
	"fmt"
	"slices"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// CreateLV implements lvm.Interface.
func (f *Fake) CreateLV(ctx context.Context, vg string, opts lvm.CreateOptions) (*lvm.LV, error) {
	return f.create(ctx, "CreateLV", vg, opts)
}

// create is CreateLV, counted and failed (FailNext) as method.
func (f *Fake) create(_ context.Context, method, vg string, opts lvm.CreateOptions) (*lvm.LV, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(method); err != nil {
		return nil, err
	}
	if err := f.checkCreate(vg, opts); err != nil {
		return nil, err
	}
	if opts.Size == 0 {
		return nil, fmt.Errorf("%w: size 0", lvm.ErrInvalid)
	}
	size := f.roundUp(opts.Size)
	lv := &lvm.LV{Name: opts.Name, Size: size, Tags: sortedTags(opts.Tags)}
	if opts.ThinPool == "" {
		if size > f.vg.Free {
			return nil, fmt.Errorf("%w: %s needs %d bytes, %d free", lvm.ErrNoSpace, opts.Name, size, f.vg.Free)
		}
		lv.Attr = attrThick
		f.add(lv, size)
		return copyLV(lv), nil
	}
	if err := f.checkThinPool(vg, opts.ThinPool); err != nil {
		return nil, err
	}
	lv.Attr, lv.PoolLV = withZero(attrThinVolume, f.poolZeroes(opts.ThinPool)), opts.ThinPool
	f.add(lv, 0)
	return copyLV(lv), nil
}

// CreateSnapshot implements lvm.Interface.
func (f *Fake) CreateSnapshot(ctx context.Context, vg, origin string, opts lvm.CreateOptions) (*lvm.LV, error) {
	return f.snapshot(ctx, "CreateSnapshot", vg, origin, opts)
}

// snapshot is CreateSnapshot, counted and failed (FailNext) as method.
func (f *Fake) snapshot(_ context.Context, method, vg, origin string, opts lvm.CreateOptions) (*lvm.LV, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(method); err != nil {
		return nil, err
	}
	if err := f.checkCreate(vg, opts); err != nil {
		return nil, err
	}
	src, err := f.find(vg, origin)
	if err != nil {
		return nil, err
	}
	lv := &lvm.LV{Name: opts.Name, Size: src.Size, Origin: origin, Tags: sortedTags(opts.Tags)}
	if opts.Size == 0 {
		// lvm: "Please specify either size or extents with snapshots."
		if !src.IsThinVolume() {
			return nil, fmt.Errorf("%w: a thin snapshot needs a thin origin, %s is not", lvm.ErrInvalid, origin)
		}
		if err := f.checkThinPool(vg, src.PoolLV); err != nil {
			return nil, err
		}
		// Inactive, so lvs prints no data_percent until SetDataPercent;
		// without the activation skip flag, active like a thin volume.
		attr := attrThinSnapshot
		if opts.NoActivationSkip {
			attr = attrThinVolume
		}
		lv.Attr, lv.PoolLV = withZero(attr, f.poolZeroes(src.PoolLV)), src.PoolLV
		f.add(lv, 0)
		return copyLV(lv), nil
	}
	if src.IsThinPool() || src.IsCOWSnapshot() {
		return nil, fmt.Errorf("%w: cannot take a COW snapshot of %s", lvm.ErrInvalid, origin)
	}
	// lvcreate trims a request past the maximum usable size.
	size := f.roundUp(min(opts.Size, lvm.COWSize(src.Size)))
	if size > f.vg.Free {
		return nil, fmt.Errorf("%w: %s needs %d bytes, %d free", lvm.ErrNoSpace, opts.Name, size, f.vg.Free)
	}
	lv.Size, lv.Attr = size, attrCOWSnapshot
	f.add(lv, size)
	if !src.IsThinVolume() {
		src.Attr = attrCOWOrigin
	}
	return copyLV(lv), nil
}

func (f *Fake) checkCreate(vg string, opts lvm.CreateOptions) error {
	if err := f.checkVG(vg); err != nil {
		return err
	}
	for _, t := range opts.Tags {
		if !lvm.ValidTag(t) {
			return fmt.Errorf("%w: tag %q", lvm.ErrInvalid, t)
		}
	}
	return f.checkNew(opts.Name)
}

// checkThinPool checks that a new thin LV may go into pool.
func (f *Fake) checkThinPool(vg, pool string) error {
	p, ok := f.lvs[pool]
	if !ok || !p.IsThinPool() {
		return fmt.Errorf("%w: thin pool %s/%s", lvm.ErrNotFound, vg, pool)
	}
	return nil
}

// sortedTags is tags the way lvs prints them: sorted, without duplicates,
// nil when there are none.
func sortedTags(tags []string) []string {
	if len(tags) == 0 {
		return nil
	}
	return slices.Compact(slices.Sorted(slices.Values(tags)))
}

// CreateLVNoReport implements lvm.Interface: CreateLV without the LV. It
// is the same lvcreate, so it counts and fails (FailNext) as "CreateLV".
func (f *Fake) CreateLVNoReport(ctx context.Context, vg string, opts lvm.CreateOptions) error {
	_, err := f.create(ctx, "CreateLV", vg, opts)
	return err
}

// CreateSnapshotNoReport implements lvm.Interface: CreateSnapshot without
// the LV; it counts and fails as "CreateSnapshot".
func (f *Fake) CreateSnapshotNoReport(ctx context.Context, vg, origin string, opts lvm.CreateOptions) error {
	_, err := f.snapshot(ctx, "CreateSnapshot", vg, origin, opts)
	return err
}
