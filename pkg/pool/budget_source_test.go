package pool

import (
	"context"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// RemoveLVListed is the lvremove alone: the dependents are checked in the
// caller's listing (pkg/lvm remove_listed.go).
func (c *countingLVM) RemoveLVListed(ctx context.Context, vg, name string, lvs []lvm.LV) error {
	c.log.changed("lvremove")
	return c.l.RemoveLVListed(ctx, vg, name, lvs)
}

// Command budgets of DeleteVolume and of CreateVolume from a content source
// (budget_test.go has the others and the counting harness). The floors, as
// test/bench measures them: DeleteVolume is one lvremove; a thin clone is
// one lvcreate -s with the clone's final tags and an activation, which
// lvcreate does itself when asked to leave the activation skip flag off.

// DeleteVolume of an unpublished thin volume: one lvs (does it exist, is it
// ours, a plain thin volume with no publication, its dependents for
// lvremove -y) and the lvremove. No "deleting" tag: a thin volume needs no
// wipe, so the removal is one command and a crash leaves the volume whole
// or gone. No tgtd reading: an unpublished volume has no target, and a
// target an interrupted unpublish left would hold the LV open, which
// lvremove refuses (then the full path runs). A retry is the lvs alone.
func TestCommandBudgetDeleteVolumeThin(t *testing.T) {
	b := newBudgetEnv(t, true)
	v := b.create(t, "pvc-budget", 256*mib, Thin)
	call := func() error { return b.pool.Delete(b.ctx, v.ID) }
	b.measure(t, "DeleteVolume", budget{lvmReads: 1, lvmChanges: 1}, call)
	b.measure(t, "DeleteVolume retried", budget{lvmReads: 1}, call)
}

// CreateVolume from a thin snapshot into a thin volume of the snapshot's
// size: one lvs (the clone, the snapshot, the thin pool's room) and one
// lvcreate -s that writes the clone whole: its final tags, no "creating"
// (a thin snapshot is complete the instant it exists) and no activation
// skip flag, so it comes up active without an lvchange. A retry is the lvs.
func TestCommandBudgetCreateVolumeFromSnapshot(t *testing.T) {
	b := newBudgetEnv(t, true)
	v := b.create(t, "pvc-budget", 256*mib, Thin)
	s, err := b.pool.CreateSnapshot(b.ctx, "snap-budget", v.ID)
	if err != nil {
		t.Fatal(err)
	}
	req := CreateRequest{Name: "pvc-restore", RequiredSize: 256 * mib, Provisioning: Thin, SourceSnapshot: s.ID}
	call := func() error { _, err := b.pool.Create(b.ctx, req); return err }
	b.measure(t, "CreateVolume from snapshot", budget{lvmReads: 1, lvmChanges: 1}, call)
	b.measure(t, "CreateVolume from snapshot retried", budget{lvmReads: 1}, call)
}

// CreateVolume from a thin volume into a thin volume of its size: the same
// one lvs and one lvcreate -s (a thin snapshot of a live volume is a
// point-in-time copy by itself; no scratch snapshot).
func TestCommandBudgetCreateVolumeFromVolume(t *testing.T) {
	b := newBudgetEnv(t, true)
	v := b.create(t, "pvc-budget", 256*mib, Thin)
	req := CreateRequest{Name: "pvc-clone", RequiredSize: 256 * mib, Provisioning: Thin, SourceVolume: v.ID}
	call := func() error { _, err := b.pool.Create(b.ctx, req); return err }
	b.measure(t, "CreateVolume from volume", budget{lvmReads: 1, lvmChanges: 1}, call)
	b.measure(t, "CreateVolume from volume retried", budget{lvmReads: 1}, call)
}
