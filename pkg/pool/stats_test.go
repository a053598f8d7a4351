package pool

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// The figures come from the last reconcile pass: what the LV tags and tgtd
// held then, and what the pass repaired.
func TestStatsAreThoseOfTheLastReconcilePass(t *testing.T) {
	e := newEnv(t, true)
	if s := e.pool.Stats(); !s.AsOf.IsZero() || s.VGKnown {
		t.Fatalf("before any pass, Stats = %+v; want nothing known", s)
	}
	a := e.create(t, "pvc-a", 8*mib, Thin)
	b := e.create(t, "pvc-b", 8*mib, Thick)
	e.create(t, "pvc-c", 8*mib, Thick)
	expA, err := e.pool.Publish(e.ctx, a.ID, nodeA, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Publish(e.ctx, b.ID, nodeB, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tgt.Login(e.target(t, a.ID).TID, nodeA.Initiator, "192.0.2.21", expA.CHAP.User, expA.CHAP.Password); err != nil {
		t.Fatal(err)
	}
	e.tgt.Restart() // every target gone: the pass repairs them
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	s := e.pool.Stats()
	if s.AsOf.IsZero() || time.Since(s.AsOf) > time.Minute {
		t.Errorf("AsOf = %v, want the pass's time", s.AsOf)
	}
	vg, _ := e.lvm.GetVG(e.ctx, testVG)
	if !s.VGKnown || s.VGSize != vg.Size || s.VGFree != vg.Free {
		t.Errorf("VG %v %d/%d, want %d/%d", s.VGKnown, s.VGSize, s.VGFree, vg.Size, vg.Free)
	}
	pool, _ := e.lvm.GetLV(e.ctx, testVG, testPool)
	if !s.ThinPoolKnown || s.ThinPoolSize != pool.Size || s.ThinDataPercent != pool.DataPercent || s.ThinMetadataPercent != pool.MetadataPercent {
		t.Errorf("thin pool %v %d %.2f/%.2f, want %d %.2f/%.2f", s.ThinPoolKnown, s.ThinPoolSize, s.ThinDataPercent, s.ThinMetadataPercent,
			pool.Size, pool.DataPercent, pool.MetadataPercent)
	}
	if s.Volumes[Thin] != 1 || s.Volumes[Thick] != 2 || s.PublishedVolumes != 2 {
		t.Errorf("volumes %v, published %d; want 1 thin, 2 thick, 2 published", s.Volumes, s.PublishedVolumes)
	}
	// The restart dropped a's session; the pass rebuilt both targets.
	if len(s.TargetSessions) != 2 || s.TargetSessions[e.pool.IQN(a.ID)] != 0 || s.TargetSessions[e.pool.IQN(b.ID)] != 0 {
		t.Errorf("target sessions %v after the pass rebuilt the targets, want both with none", s.TargetSessions)
	}
	if s.ReconcileRuns != 1 || s.ReconcileFailures != 0 || s.Repairs[RepairTgtd] == 0 {
		t.Errorf("runs %d, failures %d, repairs %v; want 1, 0 and the rebuilt targets", s.ReconcileRuns, s.ReconcileFailures, s.Repairs)
	}
	repaired := s.Repairs[RepairTgtd]

	// A node logs in again; the next pass sees its session and repairs nothing.
	if _, err := e.tgt.Login(e.target(t, a.ID).TID, nodeA.Initiator, "192.0.2.21", expA.CHAP.User, expA.CHAP.Password); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	s = e.pool.Stats()
	if s.TargetSessions[e.pool.IQN(a.ID)] != 1 || s.TargetSessions[e.pool.IQN(b.ID)] != 0 || len(s.TargetSessions) != 2 {
		t.Errorf("target sessions %v, want 1 on a's target and 0 on b's", s.TargetSessions)
	}
	if s.ReconcileRuns != 2 || s.Repairs[RepairTgtd] != repaired {
		t.Errorf("after a pass on a settled host: runs %d, repairs %v; want 2 runs and still %d repairs", s.ReconcileRuns, s.Repairs, repaired)
	}

	// Reading the figures runs nothing.
	calls := e.lvm.Calls("ListLVs") + e.lvm.Calls("GetVG") + e.lvm.Calls("GetLV")
	tgtCalls := len(e.tgt.Calls())
	for range 10 {
		e.pool.Stats()
	}
	if now := e.lvm.Calls("ListLVs") + e.lvm.Calls("GetVG") + e.lvm.Calls("GetLV"); now != calls || len(e.tgt.Calls()) != tgtCalls {
		t.Errorf("Stats ran lvm or tgtadm")
	}
}

// A failed pass is counted and keeps the figures of the last good one.
func TestStatsCountAFailedPass(t *testing.T) {
	e := newEnv(t, false)
	e.create(t, "pvc-a", 8*mib, Thick)
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	good := e.pool.Stats()
	e.lvm.FailNext("ListLVs", errors.New("lvs hung"))
	if err := e.pool.Reconcile(e.ctx); err == nil {
		t.Fatal("the pass did not fail")
	}
	s := e.pool.Stats()
	if s.ReconcileRuns != 2 || s.ReconcileFailures != 1 {
		t.Errorf("runs %d, failures %d; want 2, 1", s.ReconcileRuns, s.ReconcileFailures)
	}
	if s.AsOf != good.AsOf || s.Volumes[Thick] != 1 {
		t.Errorf("a failed pass replaced the figures: %+v", s)
	}
}

// Jobs are counted by kind while they run and when they finish, with the
// bytes they zeroed.
func TestStatsCountJobsAndBytes(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "big", 64*mib, Thick)
	release, entered := make(chan struct{}), make(chan struct{})
	e.pool.blocks = countingBlocks{BlockDevices: &blockingWipe{recordingWiper: e.wiper, release: release, entered: entered}, st: &e.pool.stats}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = e.pool.Delete(e.ctx, v.ID) }()
	<-entered
	if s := e.pool.Stats(); s.JobsRunning[JobWipe] != 1 || s.BytesZeroed != 0 {
		t.Errorf("during the wipe: running %v, zeroed %d; want one wipe, nothing zeroed yet", s.JobsRunning, s.BytesZeroed)
	}
	close(release)
	wg.Wait()
	s := e.pool.Stats()
	if s.JobsRunning[JobWipe] != 0 || s.JobsFinished[[2]string{JobWipe, "ok"}] != 1 || s.BytesZeroed != v.Size {
		t.Errorf("after the wipe: running %v, finished %v, zeroed %d; want none, one ok wipe, %d", s.JobsRunning, s.JobsFinished, s.BytesZeroed, v.Size)
	}
}

func TestJobKinds(t *testing.T) {
	for key, want := range map[string]string{deleteJob("csi-1"): JobWipe, growJob("csi-1"): JobGrowth, "csi-1": JobCopy} {
		if got := jobKind(key); got != want {
			t.Errorf("jobKind(%q) = %s, want %s", key, got, want)
		}
	}
}
