package pool

import (
	"fmt"
	"testing"
)

// The budgets of budget_test.go are measured on a storage host whose other
// targets have no sessions. A real one has a logged-in node on every
// attached volume, and reading a target's sessions is one tgtadm call per
// target (pkg/tgt list.go): a call that reads every target's sessions
// costs one more command per attached volume of the whole host. These
// budgets are measured with attachedVolumes other volumes published and
// logged in to, and must not depend on that number.
const attachedVolumes = 5

// attachOthers publishes attachedVolumes thin volumes to node B and logs
// node B in to each of their targets.
func (b *budgetEnv) attachOthers(t *testing.T) {
	t.Helper()
	for i := range attachedVolumes {
		v := b.create(t, fmt.Sprintf("pvc-attached-%d", i), 64*mib, Thin)
		exp, err := b.pool.Publish(b.ctx, v.ID, nodeB, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.login(t, v.ID, nodeB, exp.CHAP); err != nil {
			t.Fatal(err)
		}
	}
}

// ControllerPublishVolume needs no session of any target (tgtread.go): on
// a host with attached volumes it reads what it reads on an idle one.
func TestCommandBudgetControllerPublishBesideAttachedVolumes(t *testing.T) {
	b := newBudgetEnv(t, true)
	b.attachOthers(t)
	v := b.create(t, "pvc-budget", gib, Thin)
	call := func() error { _, err := b.pool.Publish(b.ctx, v.ID, nodeA, false); return err }
	b.measure(t, "ControllerPublishVolume", budget{lvmReads: 1, lvmChanges: 1, tgtReads: 1, tgtChanges: 6 + len(TargetParams)}, call)
	b.measure(t, "ControllerPublishVolume retried", budget{lvmReads: 1, tgtReads: 3}, call)
}

// ControllerUnpublishVolume and DeleteVolume read the sessions of their
// own target only: what other volumes' nodes are doing does not change
// what they run. Unpublish of a logged-in node: the targets without
// sessions (three listings) and the accounts, the driver listing again before the target
// is deleted (binding.go, guard), the target's connection listing checked
// against the driver listing (fence.go, readSessions); then the session's
// connection is closed and the target and the account go.
func TestCommandBudgetUnpublishAndDeleteBesideAttachedVolumes(t *testing.T) {
	b := newBudgetEnv(t, true)
	b.attachOthers(t)
	v := b.create(t, "pvc-budget", gib, Thin)
	exp, err := b.pool.Publish(b.ctx, v.ID, nodeA, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.login(t, v.ID, nodeA, exp.CHAP); err != nil {
		t.Fatal(err)
	}
	b.measure(t, "ControllerUnpublishVolume", budget{lvmReads: 1, lvmChanges: 1, tgtReads: 7, tgtChanges: 3},
		func() error { return b.pool.Unpublish(b.ctx, v.ID, nodeA.ID) })
	b.measure(t, "ControllerUnpublishVolume retried", budget{lvmReads: 1, tgtReads: 2},
		func() error { return b.pool.Unpublish(b.ctx, v.ID, nodeA.ID) })
	b.measure(t, "DeleteVolume", budget{lvmReads: 2, lvmChanges: 2, tgtReads: 2},
		func() error { return b.pool.Delete(b.ctx, v.ID) })
}
