package tgtfake

import (
	"context"
	"fmt"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// AddLUN adds an online disk LUN. Without a SCSI id or serial it gets tgt's
// defaults, derived from the tid and LUN number ("IET     %04x%04x",
// "beaf%d%d").
func (f *Fake) AddLUN(ctx context.Context, tid, lun int, backingStore string, p tgt.LUNParams) error {
	defer f.mu.Unlock()
	if err := f.begin("AddLUN"); err != nil {
		return err
	}
	op := fmt.Sprintf("add lun %d to target %d", lun, tid)
	if lun < 1 || backingStore == "" || len(p.SCSIID) > tgt.MaxSCSIIDLen || len(p.SCSISN) > tgt.MaxSCSISNLen {
		return fail(op, tgt.ErrInvalid)
	}
	t, err := f.target(op, tid)
	if err != nil {
		return err
	}
	if lunIndex(t, lun) >= 0 {
		return fail(op, tgt.ErrExists)
	}
	l := tgt.LUN{
		Number:           lun,
		Type:             "disk",
		BlockSize:        512,
		SCSIID:           p.SCSIID,
		SCSISN:           p.SCSISN,
		Online:           true,
		ThinProvisioning: p.ThinProvisioning,
		BackingStore:     backingStore,
		BackingStoreType: "rdwr",
		Size:             f.sizes[backingStore], // read when opened, as tgtd does
	}
	if l.SCSIID == "" {
		l.SCSIID = fmt.Sprintf("IET     %04x%04x", tid, lun)
	}
	if l.SCSISN == "" {
		l.SCSISN = fmt.Sprintf("beaf%d%d", tid, lun)
	}
	t.LUNs = append(t.LUNs, l)
	f.lunParams[[2]int{tid, lun}] = p
	return nil
}

// LUNParams returns what AddLUN was given for LUN lun of target tid, for
// what tgtd keeps but does not list (WriteCacheOff); false when there is
// no such LUN.
func (f *Fake) LUNParams(tid, lun int) (tgt.LUNParams, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.targets[tid]
	if !ok || lunIndex(t, lun) < 0 {
		return tgt.LUNParams{}, false
	}
	return f.lunParams[[2]int{tid, lun}], true
}

// DeleteLUN removes a LUN.
func (f *Fake) DeleteLUN(ctx context.Context, tid, lun int) error {
	defer f.mu.Unlock()
	t, i, err := f.findLUN("DeleteLUN", fmt.Sprintf("delete lun %d of target %d", lun, tid), tid, lun)
	if err != nil {
		return err
	}
	t.LUNs = append(t.LUNs[:i], t.LUNs[i+1:]...)
	return nil
}

// RefreshLUN re-reads the LUN's size from SetSize, as tgtd re-reads its
// backing store when the path is updated.
func (f *Fake) RefreshLUN(ctx context.Context, tid, lun int, backingStore string) error {
	defer f.mu.Unlock()
	t, i, err := f.findLUN("RefreshLUN", fmt.Sprintf("refresh lun %d of target %d", lun, tid), tid, lun)
	if err != nil {
		return err
	}
	t.LUNs[i].BackingStore = backingStore
	t.LUNs[i].Size = f.sizes[backingStore]
	return nil
}

// findLUN starts method (taking the lock the caller releases) and finds LUN
// lun of target tid, failing as tgtd would when either is missing.
func (f *Fake) findLUN(method, op string, tid, lun int) (*tgt.Target, int, error) {
	if err := f.begin(method); err != nil {
		return nil, 0, err
	}
	t, err := f.target(op, tid)
	if err != nil {
		return nil, 0, err
	}
	i := lunIndex(t, lun)
	if i < 0 {
		return nil, 0, fail(op, tgt.ErrNotFound)
	}
	return t, i, nil
}

func lunIndex(t *tgt.Target, lun int) int {
	for i, l := range t.LUNs {
		if l.Number == lun {
			return i
		}
	}
	return -1
}
