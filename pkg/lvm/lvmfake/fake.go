// Package lvmfake is an in-memory lvm.Interface for unit tests of the
// packages above pkg/lvm. It keeps one VG with extent accounting, thin pools
// with their own data usage, tags and snapshots, and answers with the same
// sentinel errors, in the cases where real lvm (through pkg/lvm) does:
//
//   - thick LVs, COW snapshots and thin pools take extents from the VG
//     (sizes rounded up to the extent size, as lvm does); ErrNoSpace when
//     the VG has too few;
//   - thin LVs take no extents: like lvm by default, pools may be
//     over-provisioned, and a full pool still takes thin LVs (lvm's
//     default threshold of 100 never refuses);
//   - a thin snapshot needs a thin origin (ErrInvalid otherwise) and is
//     created inactive with the activation skip flag (active without it,
//     with NoActivationSkip); Activate activates it;
//   - RemoveLV refuses a COW origin with snapshots or a thin pool with thin
//     LVs (ErrHasDependents); a removed thin origin leaves its thin snapshots
//     behind with no origin; RemoveLVListed checks the caller's listing
//     instead, then removes what depends on the LV now along with it, as
//     lvremove -y does;
//   - ExtendLV refuses a COW origin with snapshots (lvm: "Snapshot origin
//     volumes can be resized only while inactive").
//   - SplitSnapshot turns a COW snapshot into a plain LV with its extents;
//     SetThinPoolZeroing plays a pool without zeroing (lv_attr's 'z').
//
// Not modelled: lvm trimming an oversized COW request to what the origin can
// use, metadata usage, and the pool growing on its own.
package lvmfake

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// Attributes as lvs prints them for active LVs (see pkg/lvm/testdata).
const (
	attrThick            = "-wi-a-----"
	attrCOWOrigin        = "owi-a-s---"
	attrCOWSnapshot      = "swi-a-s---"
	attrThinPool         = "twi-aotz--"
	attrThinVolume       = "Vwi-a-tz--"
	attrThinSnapshot     = "Vwi---tz-k" // inactive, activation skip
	attrThinSnapshotLive = "Vwi-a-tz-k"
)

// poolMetadataSize is what lvm gave a small pool's metadata LV, and again
// its spare ([pool_tmeta], [lvol0_pmspare] in testdata/lvs-all-hidden).
const poolMetadataSize = 4 << 20

// Fake is an in-memory lvm.Interface. It is safe for concurrent use.
type Fake struct {
	mu          sync.Mutex
	vg          lvm.VG
	lvs         map[string]*lvm.LV
	allocated   map[string]uint64 // extents taken from the VG, in bytes, by LV
	hasSpare    bool
	failNext    map[string][]error
	calls       map[string]int
	uuidCounter int
}

var _ lvm.Interface = (*Fake)(nil)

// New returns a Fake holding one empty VG of size bytes (rounded down to
// extentSize, 4 MiB when 0).
func New(vg string, size, extentSize uint64) *Fake {
	if extentSize == 0 {
		extentSize = 4 << 20
	}
	size -= size % extentSize
	return &Fake{
		vg:        lvm.VG{Name: vg, UUID: "fake-vg-" + vg, Size: size, Free: size, ExtentSize: extentSize},
		lvs:       map[string]*lvm.LV{},
		allocated: map[string]uint64{},
		failNext:  map[string][]error{},
		calls:     map[string]int{},
	}
}

// FailNext makes the next call of method (an lvm.Interface method name,
// e.g. "CreateLV") return err without doing anything. Errors queue up.
func (f *Fake) FailNext(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext[method] = append(f.failNext[method], err)
}

// Calls returns how many times method was called, failed calls included.
func (f *Fake) Calls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// AddThinPool creates a thin pool of size bytes, taking its size plus
// metadata (and a metadata spare for the first pool) from the VG.
func (f *Fake) AddThinPool(name string, size uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.checkNew(name); err != nil {
		return err
	}
	size = f.roundUp(size)
	cost := size + f.roundUp(poolMetadataSize)
	if !f.hasSpare {
		cost += f.roundUp(poolMetadataSize)
	}
	if cost > f.vg.Free {
		return fmt.Errorf("%w: pool %s needs %d bytes, %d free", lvm.ErrNoSpace, name, cost, f.vg.Free)
	}
	f.hasSpare = true
	f.add(&lvm.LV{Name: name, Size: size, Attr: attrThinPool}, cost)
	return nil
}

// InvalidateSnapshot marks a copy-on-write snapshot invalid, as
// dm-snapshot does when it overflows.
func (f *Fake) InvalidateSnapshot(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	lv, err := f.find(f.vg.Name, name)
	if err != nil {
		return err
	}
	if !lv.IsCOWSnapshot() {
		return fmt.Errorf("%w: %s is not a COW snapshot", lvm.ErrInvalid, name)
	}
	lv.Attr = "Swi-I-s---"
	return nil
}

// SetDataPercent sets the data usage lvs would report for an LV (a thin
// pool, thin LV or snapshot), as writes would change it.
func (f *Fake) SetDataPercent(name string, percent float64) error {
	return f.change(name, func(lv *lvm.LV) { lv.DataPercent = percent })
}

// change applies set to LV name under the lock, as a test's way of
// playing what lvs would report after outside events.
func (f *Fake) change(name string, set func(*lvm.LV)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	lv, ok := f.lvs[name]
	if !ok {
		return fmt.Errorf("%w: %s", lvm.ErrNotFound, name)
	}
	set(lv)
	return nil
}

// begin counts a call of method and returns the error queued for it, if
// any. The caller holds f.mu.
func (f *Fake) begin(method string) error {
	f.calls[method]++
	if q := f.failNext[method]; len(q) > 0 {
		f.failNext[method] = q[1:]
		return q[0]
	}
	return nil
}

func (f *Fake) checkVG(vg string) error {
	if vg != f.vg.Name {
		return fmt.Errorf("%w: %q", lvm.ErrVGNotFound, vg)
	}
	return nil
}

func (f *Fake) checkNew(name string) error {
	if !lvm.ValidLVName(name) {
		return fmt.Errorf("%w: name %q", lvm.ErrInvalid, name)
	}
	if _, ok := f.lvs[name]; ok {
		return fmt.Errorf("%w: %s/%s", lvm.ErrExists, f.vg.Name, name)
	}
	return nil
}

func (f *Fake) roundUp(size uint64) uint64 {
	if rem := size % f.vg.ExtentSize; rem != 0 {
		size += f.vg.ExtentSize - rem
	}
	return size
}

// add stores lv, taking cost bytes from the VG.
func (f *Fake) add(lv *lvm.LV, cost uint64) {
	f.uuidCounter++
	lv.VG = f.vg.Name
	lv.UUID = fmt.Sprintf("fake-lv-%06d", f.uuidCounter)
	lv.Active = lv.Attr[4] == 'a'
	if !strings.HasPrefix(lv.Attr, "t") {
		lv.Path = "/dev/" + f.vg.Name + "/" + lv.Name
	}
	f.lvs[lv.Name] = lv
	f.allocated[lv.Name] = cost
	f.vg.Free -= cost
}

func copyLV(lv *lvm.LV) *lvm.LV {
	c := *lv
	c.Tags = slices.Clone(lv.Tags)
	return &c
}

// GetVG implements lvm.Interface.
func (f *Fake) GetVG(_ context.Context, vg string) (*lvm.VG, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("GetVG"); err != nil {
		return nil, err
	}
	if err := f.checkVG(vg); err != nil {
		return nil, fmt.Errorf("%w: %w", lvm.ErrNotFound, err)
	}
	c := f.vg
	return &c, nil
}

// ListLVs implements lvm.Interface.
func (f *Fake) ListLVs(_ context.Context, vg string) ([]lvm.LV, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("ListLVs"); err != nil {
		return nil, err
	}
	if err := f.checkVG(vg); err != nil {
		return nil, err
	}
	names := slices.Sorted(maps.Keys(f.lvs))
	lvs := make([]lvm.LV, 0, len(names))
	for _, name := range names {
		lvs = append(lvs, *copyLV(f.lvs[name]))
	}
	return lvs, nil
}

// GetLV implements lvm.Interface.
func (f *Fake) GetLV(_ context.Context, vg, name string) (*lvm.LV, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("GetLV"); err != nil {
		return nil, err
	}
	lv, err := f.find(vg, name)
	if err != nil {
		return nil, err
	}
	return copyLV(lv), nil
}

func (f *Fake) find(vg, name string) (*lvm.LV, error) {
	if err := f.checkVG(vg); err != nil {
		return nil, err
	}
	lv, ok := f.lvs[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s/%s", lvm.ErrNotFound, vg, name)
	}
	return lv, nil
}
