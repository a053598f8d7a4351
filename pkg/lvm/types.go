package lvm

import "context"

// VG is a volume group as vgs reports it. Sizes are bytes.
type VG struct {
	Name, UUID             string
	Size, Free, ExtentSize uint64
}

// LV is a logical volume as lvs reports it.
type LV struct {
	Name, VG, UUID string
	Size           uint64   // bytes; a COW snapshot's is its COW area
	Attr           string   // lv_attr as printed, e.g. "Vwi-a-tz--"
	Tags           []string // nil when untagged
	PoolLV         string   // thin pool of a thin LV, "" otherwise
	Origin         string   // origin of a snapshot, "" otherwise (and once a thin origin is gone)
	// DataPercent and MetadataPercent are 0 when lvm prints "" (not a pool or
	// snapshot, or inactive).
	DataPercent, MetadataPercent float64
	Path                         string // lv_path, e.g. /dev/vg/lv; "" for thin pools
	Active                       bool
}

// lv_attr positions and letters, from lvs(8).
const (
	attrType        = 0
	attrState       = 4
	typeThinPool    = 't'
	typeThinVolume  = 'V'
	typeCOWSnapshot = 's'
	typeInvalidCOW  = 'S'
	stateActive     = 'a'
)

func (lv *LV) attr(i int) byte {
	if i < len(lv.Attr) {
		return lv.Attr[i]
	}
	return 0
}

// IsThinPool reports whether lv is a thin pool.
func (lv *LV) IsThinPool() bool { return lv.attr(attrType) == typeThinPool }

// IsThinVolume reports whether lv is a thin LV (thin snapshots included).
func (lv *LV) IsThinVolume() bool { return lv.attr(attrType) == typeThinVolume }

// IsCOWSnapshot reports whether lv is a thick copy-on-write snapshot, valid
// or not. Removing its origin would remove it too.
func (lv *LV) IsCOWSnapshot() bool {
	t := lv.attr(attrType)
	return t == typeCOWSnapshot || t == typeInvalidCOW
}

// Interface is what the rest of the driver uses of LVM; *LVM implements it
// with the lvm commands and lvmfake.Fake in memory.
type Interface interface {
	// GetVG returns the VG; ErrNotFound (and ErrVGNotFound) when absent.
	GetVG(ctx context.Context, vg string) (*VG, error)
	// ListLVs returns every visible LV of the VG, ours or not, thin pools
	// included, lvm's hidden sub-LVs excluded, sorted by name.
	ListLVs(ctx context.Context, vg string) ([]LV, error)
	// GetLV returns one LV; ErrNotFound when absent.
	GetLV(ctx context.Context, vg, name string) (*LV, error)
	// CreateLV creates a thick LV, or a thin one when opts.ThinPool is set;
	// ErrExists, ErrNoSpace, ErrNotFound (no such pool).
	CreateLV(ctx context.Context, vg string, opts CreateOptions) (*LV, error)
	// CreateSnapshot snapshots origin: Size 0 makes a thin snapshot of a thin
	// origin, Size > 0 a thick COW snapshot with that much COW space.
	// opts.ThinPool is ignored. Thin snapshots are created with lvm's
	// activation skip flag: they stay inactive until Activate.
	CreateSnapshot(ctx context.Context, vg, origin string, opts CreateOptions) (*LV, error)
	// CreateLVNoReport and CreateSnapshotNoReport are CreateLV and
	// CreateSnapshot without reading the new LV back: one lvm command
	// fewer, for callers that know all they need of it.
	CreateLVNoReport(ctx context.Context, vg string, opts CreateOptions) error
	CreateSnapshotNoReport(ctx context.Context, vg, origin string, opts CreateOptions) error
	// RemoveLV removes one LV: ErrNotFound when already gone,
	// ErrHasDependents for a COW origin with snapshots or a thin pool with
	// thin LVs, ErrInUse when the device stays open after brief retries.
	RemoveLV(ctx context.Context, vg, name string) error
	// RemoveLVListed is RemoveLV with the dependents checked in lvs, the
	// caller's own listing of the VG: lvremove alone.
	RemoveLVListed(ctx context.Context, vg, name string, lvs []LV) error
	// ExtendLV grows the LV to at least size bytes; a no-op when it is
	// already that big. ErrNoSpace, ErrHasDependents (a COW origin).
	ExtendLV(ctx context.Context, vg, name string, size uint64) error
	// ChangeTags adds and deletes tags in one lvchange.
	ChangeTags(ctx context.Context, vg, name string, add, del []string) error
	// Activate activates the LV even when it carries the activation skip
	// flag (thin snapshots do).
	Activate(ctx context.Context, vg, name string) error
	// SplitSnapshot turns a COW snapshot into a plain LV holding its COW
	// area, so it can be wiped before removal. ErrInvalid when the LV is not
	// a COW snapshot (any more), ErrInUse when it is open.
	SplitSnapshot(ctx context.Context, vg, name string) error
}
