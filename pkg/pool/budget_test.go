package pool

import (
	"path/filepath"
	"slices"
	"testing"
)

// Command budgets: how many external commands each controller RPC runs on
// the storage host, counted as the real tools run them (budget_counting_test.go).
// Every lvm command reads the whole VG metadata and takes the VG lock (0.3
// to 0.8 s each in the emulated test guest, over 100 ms on real hosts),
// so the floor of a call is the lvm commands that change something plus
// one report that answers every question the call has; tgtadm commands
// are cheap IPC but still add up. Issue 15.

// budgetEnv is a pool whose lvm and tgtd commands are counted, started as
// the controller starts: Probe has read the volume group and the thin pool,
// the start-up reconcile has run, and the CHAP key exists.
type budgetEnv struct {
	*env
	lvmLog, tgtLog *commandLog
}

func newBudgetEnv(t *testing.T, thin bool) *budgetEnv {
	t.Helper()
	e := newEnv(t, thin)
	cl := &countingLVM{l: e.lvm}
	ct := &countingTgtadm{t: e.tgt}
	e.pool.lvm = cl
	e.pool.tgt = countingTgt{Interface: ct, changes: &e.pool.stats.tgtChanges}
	if err := e.pool.Ready(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.chapKey(e.ctx); err != nil {
		t.Fatal(err)
	}
	return &budgetEnv{env: e, lvmLog: &cl.log, tgtLog: &ct.log}
}

// budget is the most commands one call may run.
type budget struct {
	lvmReads, lvmChanges, tgtReads, tgtChanges int
}

// measure runs call and checks its commands against want.
func (b *budgetEnv) measure(t *testing.T, what string, want budget, call func() error) {
	t.Helper()
	b.lvmLog.reset()
	b.tgtLog.reset()
	if err := call(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	t.Logf("%s: lvm %v; tgtadm %v", what, b.lvmLog, b.tgtLog)
	if b.lvmLog.reads > want.lvmReads || b.lvmLog.changes > want.lvmChanges {
		t.Errorf("%s ran lvm %v, want at most %d reads and %d changes", what, b.lvmLog, want.lvmReads, want.lvmChanges)
	}
	if b.tgtLog.reads > want.tgtReads || b.tgtLog.changes > want.tgtChanges {
		t.Errorf("%s ran tgtadm %v, want at most %d reads and %d changes", what, b.tgtLog, want.tgtReads, want.tgtChanges)
	}
}

// CreateVolume of an empty volume is one lvs (does it exist, how large
// are extents, is there room) and one lvcreate that writes the LV with
// all its tags; a full VG or pool is lvcreate's own refusal. A retry is
// the lvs alone.
func TestCommandBudgetCreateVolume(t *testing.T) {
	for _, prov := range []Provisioning{Thin, Thick} {
		t.Run(string(prov), func(t *testing.T) {
			b := newBudgetEnv(t, true)
			req := CreateRequest{Name: "pvc-budget", RequiredSize: gib, Provisioning: prov}
			call := func() error { _, err := b.pool.Create(b.ctx, req); return err }
			b.measure(t, "CreateVolume", budget{lvmReads: 1, lvmChanges: 1}, call)
			b.measure(t, "CreateVolume retried", budget{lvmReads: 1}, call)
		})
	}
}

// ControllerPublishVolume of an unexported volume to a node: one lvs (the
// volume, and every publication for the one-initiator-one-node check), one
// lvchange for the publication's tag, tgtd's driver listing (which says
// the volume has no target yet, and which tids are taken: tgtread.go), and
// the six changes that build the export (new target, new LUN and its
// serial, the node's CHAP account and its binding, the ACL) plus one
// update per iSCSI key of TargetParams (export_params.go); the floor
// the benchmark measures is the lvchange and those changes. A retry
// changes nothing; the volume's target exists then, so the target listing
// is read too (against the driver listing, and that again).
func TestCommandBudgetControllerPublish(t *testing.T) {
	b := newBudgetEnv(t, true)
	v := b.create(t, "pvc-budget", gib, Thin)
	call := func() error { _, err := b.pool.Publish(b.ctx, v.ID, nodeA, false); return err }
	b.measure(t, "ControllerPublishVolume", budget{lvmReads: 1, lvmChanges: 1, tgtReads: 1, tgtChanges: 6 + len(TargetParams)}, call)
	b.measure(t, "ControllerPublishVolume retried", budget{lvmReads: 1, tgtReads: 3}, call)
}

// CreateSnapshot of a thin volume: one lvs (the snapshot, its source, the
// thin pool's room) and one lvcreate -s with all the tags.
func TestCommandBudgetCreateSnapshot(t *testing.T) {
	b := newBudgetEnv(t, true)
	v := b.create(t, "pvc-budget", gib, Thin)
	call := func() error { _, err := b.pool.CreateSnapshot(b.ctx, "snap-budget", v.ID); return err }
	b.measure(t, "CreateSnapshot", budget{lvmReads: 1, lvmChanges: 1}, call)
	b.measure(t, "CreateSnapshot retried", budget{lvmReads: 1}, call)
}

// ControllerExpandVolume of an unpublished thin volume: one lvs and one
// lvextend.
func TestCommandBudgetControllerExpand(t *testing.T) {
	b := newBudgetEnv(t, true)
	v := b.create(t, "pvc-budget", gib, Thin)
	call := func() error { _, err := b.pool.Expand(b.ctx, v.ID, 2*gib, 0); return err }
	b.measure(t, "ControllerExpandVolume", budget{lvmReads: 1, lvmChanges: 1}, call)
	b.measure(t, "ControllerExpandVolume retried", budget{lvmReads: 1}, call)
}

// ControllerUnpublishVolume of a volume's only node: one lvs, the
// lvchange that drops the tag, tgtd's targets without sessions (three
// listings) and its accounts (it removes), the driver listing again before
// the target is deleted (binding.go, guard), the target's sessions (its
// connection listing and the driver listing: sessions.go), then the
// target and the account go.
// DeleteVolume of the now unpublished thin volume: one lvs and lvremove,
// with lvremove's dependents checked in that report (delete_plain.go: no
// deleting mark, no tgtd reading; a target an interrupted unpublish left
// holds the LV open, lvremove refuses and the full path runs).
func TestCommandBudgetUnpublishAndDelete(t *testing.T) {
	b := newBudgetEnv(t, true)
	v := b.create(t, "pvc-budget", gib, Thin)
	if _, err := b.pool.Publish(b.ctx, v.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	b.measure(t, "ControllerUnpublishVolume", budget{lvmReads: 1, lvmChanges: 1, tgtReads: 7, tgtChanges: 2},
		func() error { return b.pool.Unpublish(b.ctx, v.ID, nodeA.ID) })
	b.measure(t, "DeleteVolume", budget{lvmReads: 1, lvmChanges: 1},
		func() error { return b.pool.Delete(b.ctx, v.ID) })
}

// A reconcile pass with nothing to repair: the vgs for the metrics and the
// one lvs every decision comes from, the CHAP key's LV included (an
// administrator's replacement mark is noticed in that listing, not in an
// lvs of its own), and tgtd's state: the driver listing for targets and
// LUNs, the target listing for ACLs and sessions, the driver listing
// again (tgtread.go) and the accounts.
func TestCommandBudgetReconcilePass(t *testing.T) {
	b := newBudgetEnv(t, true)
	for i, name := range []string{"pvc-a", "pvc-b", "pvc-c"} {
		v := b.create(t, name, gib/4, Thin)
		if i < 2 {
			if _, err := b.pool.Publish(b.ctx, v.ID, nodeA, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	b.measure(t, "a reconcile pass", budget{lvmReads: 2, tgtReads: 4},
		func() error { return b.pool.Reconcile(b.ctx) })
	// The metrics' vgs comes after the listing and the repairs made
	// under it: after a tgtd restart, sessions wait for the rebuild only.
	if got := b.lvmLog.commands; !slices.Equal(got, []string{"lvs", "vgs"}) {
		t.Errorf("a reconcile pass read lvm in the order %v, want lvs then vgs", got)
	}
	// The reconciler's own passes (at start, on its timer, after a tgtd
	// restart) read no more: the thin pool's warnings come from the
	// pass's listing, not from reads of the pool ahead of the healing.
	b.measure(t, "the reconciler's start-up pass", budget{lvmReads: 2, tgtReads: 4}, func() error {
		runs := b.pool.Stats().ReconcileRuns
		defer startReconciler(b.pool, filepath.Join(t.TempDir(), "no-tgtd.sock"))()
		waitUntil(t, func() bool { return b.pool.Stats().ReconcileRuns > runs })
		return nil
	})
}
