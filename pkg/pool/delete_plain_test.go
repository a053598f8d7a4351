package pool

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// tgtHoldsLVs is the kernel's open count as lvremove sees it: an LV that
// backs a LUN of tgtd is open, and lvremove refuses it (ErrInUse, after
// pkg/lvm's brief retries). The fakes do not know about each other.
type tgtHoldsLVs struct {
	lvm.Interface
	tgt tgt.Interface
}

func (h *tgtHoldsLVs) held(ctx context.Context, vg, name string) error {
	targets, err := h.tgt.ListTargets(ctx)
	if err != nil {
		return err
	}
	for _, t := range targets {
		for _, l := range t.LUNs {
			if l.BackingStore == "/dev/"+vg+"/"+name {
				return fmt.Errorf("%w: Logical volume %s/%s in use (tgtd, target %d)", lvm.ErrInUse, vg, name, t.TID)
			}
		}
	}
	return nil
}

func (h *tgtHoldsLVs) RemoveLV(ctx context.Context, vg, name string) error {
	if err := h.held(ctx, vg, name); err != nil {
		return err
	}
	return h.Interface.RemoveLV(ctx, vg, name)
}

func (h *tgtHoldsLVs) RemoveLVListed(ctx context.Context, vg, name string, lvs []lvm.LV) error {
	if err := h.held(ctx, vg, name); err != nil {
		return err
	}
	return h.Interface.RemoveLVListed(ctx, vg, name, lvs)
}

// An unpublished thin volume is removed by lvremove alone, without reading
// tgtd: a target an interrupted ControllerUnpublishVolume left behind (its
// tag gone, the target and a session still there) holds the LV open, so
// lvremove refuses, and the delete then goes the full way: marked
// deleting, the target and its sessions taken down, then removed.
func TestDeleteOfAnUnpublishedThinVolumeTakesDownATargetLeftBehind(t *testing.T) {
	e := newEnv(t, true)
	e.pool.lvm = &tgtHoldsLVs{Interface: e.lvm, tgt: e.tgt}
	v := e.create(t, "pvc-1", 8*mib, Thin)
	exp, err := e.pool.Publish(e.ctx, v.ID, nodeA, false)
	if err != nil {
		t.Fatal(err)
	}
	tg := e.target(t, v.ID)
	if _, err := e.tgt.Login(tg.TID, nodeA.Initiator, "192.0.2.21", exp.CHAP.User, exp.CHAP.Password); err != nil {
		t.Fatal(err)
	}
	// The unpublish recorded its intent (the tag is gone) and stopped.
	if err := e.lvm.ChangeTags(e.ctx, testVG, v.ID, nil, []string{pubTag(nodeA)}); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.Delete(e.ctx, v.ID); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	if e.target(t, v.ID) != nil {
		t.Fatal("the target left behind is still there")
	}
	if _, err := e.lvm.GetLV(e.ctx, testVG, v.ID); !errors.Is(err, lvm.ErrNotFound) {
		t.Fatalf("LV still there: %v", err)
	}
}

// A removal that fails leaves the unpublished thin volume as it was, not
// half-deleted: nothing was marked, so it can still be read and published,
// and the retry removes it.
func TestFailedDeleteOfAPlainThinVolumeChangesNothing(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "pvc-1", 8*mib, Thin)
	e.lvm.FailNext("RemoveLV", errors.New("lvremove: metadata commit failed"))
	if err := e.pool.Delete(e.ctx, v.ID); err == nil {
		t.Fatal("Delete succeeded although lvremove failed")
	}
	if got, err := e.pool.Get(e.ctx, v.ID); err != nil || got.ID != v.ID {
		t.Fatalf("after the failed delete Get = %+v, %v; want the volume unchanged", got, err)
	}
	lv, err := e.lvm.GetLV(e.ctx, testVG, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if parseTags(lv.Tags).deleting {
		t.Fatalf("tags after the failed delete: %v", lv.Tags)
	}
	if err := e.pool.Delete(e.ctx, v.ID); err != nil {
		t.Fatalf("retried Delete = %v", err)
	}
	if _, err := e.lvm.GetLV(e.ctx, testVG, v.ID); !errors.Is(err, lvm.ErrNotFound) {
		t.Fatalf("LV still there after the retry: %v", err)
	}
}
