package pool

import (
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// audit reads the fakes as the doctor reads lvm and tgtd.
func (e *env) audit(t *testing.T) []Drift {
	t.Helper()
	return e.auditWith(t, func([]tgt.Target) {})
}

// auditWith lets the test change the listing first: tgtfake cannot set an
// address ACL (the pool never does), tgtd can.
func (e *env) auditWith(t *testing.T, edit func([]tgt.Target)) []Drift {
	t.Helper()
	lvs, err := e.lvm.ListLVs(e.ctx, testVG)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := e.tgt.ListTargets(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	edit(targets)
	accounts, err := e.tgt.ListAccounts(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return Audit(AuditConfig{VolumeGroup: testVG, IQNPrefix: testPrefix, CHAP: true}, lvs, targets, accounts)
}

func kinds(drifts []Drift) map[DriftKind]int {
	out := map[DriftKind]int{}
	for _, d := range drifts {
		out[d.Kind]++
	}
	return out
}

// What the pool itself exports is, by definition, no drift; every kind of
// breakage is reported; and after a reconcile, nothing is left but what the
// reconciler only warns about. Audit never changes anything.
func TestAuditAgreesWithTheReconciler(t *testing.T) {
	e := newEnv(t, true)
	published := e.create(t, "pvc-pub", 64*mib, Thin)
	other := e.create(t, "pvc-other", 64*mib, Thin)
	e.create(t, "pvc-idle", 64*mib, Thick)
	if _, err := e.pool.Publish(e.ctx, published.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Publish(e.ctx, other.ID, nodeB, false); err != nil {
		t.Fatal(err)
	}
	if got := e.audit(t); len(got) != 0 {
		t.Fatalf("healthy pool: Audit = %+v, want nothing", got)
	}

	// Break it: a stray target and account of ours, a foreign target and
	// account (never reported), the published initiator unbound and another
	// bound, an address ACL, the LUN's serial wrong, and the other target
	// gone.
	stray := VolumeID("gone")
	mustDo(t, e.tgt.CreateTarget(e.ctx, 40, testPrefix+":"+stray))
	mustDo(t, e.tgt.CreateAccount(e.ctx, stray, "secret-of-a-stray"))
	mustDo(t, e.tgt.CreateTarget(e.ctx, 41, "iqn.2001-04.com.example:foreign"))
	mustDo(t, e.tgt.CreateAccount(e.ctx, "admin", "x"))
	tg := e.target(t, published.ID)
	mustDo(t, e.tgt.UnbindInitiator(e.ctx, tg.TID, nodeA.Initiator))
	mustDo(t, e.tgt.BindInitiator(e.ctx, tg.TID, nodeB.Initiator))
	mustDo(t, e.tgt.DeleteLUN(e.ctx, tg.TID, 1))
	mustDo(t, e.tgt.AddLUN(e.ctx, tg.TID, 1, "/dev/vg0/"+published.ID, tgt.LUNParams{SCSISN: "beaf10", SCSIID: published.ID}))
	mustDo(t, e.tgt.DeleteTarget(e.ctx, e.target(t, other.ID).TID))

	withAddressACL := func(targets []tgt.Target) {
		for i := range targets {
			if targets[i].TID == tg.TID {
				targets[i].ACLs = []string{"ALL"}
			}
		}
	}
	before, _ := e.tgt.ListTargets(e.ctx)
	got := kinds(e.auditWith(t, withAddressACL))
	// The other volume's account outlives its target in tgtd, but that
	// volume is still published, so only the stray volume's account is
	// stray.
	want := map[DriftKind]int{
		DriftStrayTarget: 1, DriftStrayAccount: 1, DriftACLMissing: 1, DriftACLExtra: 1,
		DriftAddressACL: 1, DriftLUN: 1, DriftMissingTarget: 1,
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("Audit found %d of %s, want %d (all: %v)", got[k], k, n, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("Audit kinds = %v, want exactly %v", got, want)
	}
	after, _ := e.tgt.ListTargets(e.ctx)
	if len(before) != len(after) {
		t.Fatal("Audit changed tgtd")
	}

	// The reconciler repairs everything but an address ACL, which it
	// only warns about (an administrator set it).
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.audit(t); len(got) != 0 {
		t.Fatalf("after reconcile: Audit = %+v, want nothing", got)
	}
	if got := kinds(e.auditWith(t, withAddressACL)); len(got) != 1 || got[DriftAddressACL] != 1 {
		t.Fatalf("after reconcile, with an address ACL: Audit = %v, want only the address ACL", got)
	}
}

func TestAuditReportsUnfinishedWorkAndSharedInitiators(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "pvc-del", 64*mib, Thin)
	w := e.create(t, "pvc-shared", 64*mib, Thin)
	mustDo(t, e.lvm.ChangeTags(e.ctx, testVG, v.ID, []string{tagState + stateDelete}, nil))
	// Two node names with one initiator, recorded by hand (the publish
	// path refuses it).
	clone := Node{ID: "node-c/" + nodeA.Initiator, Initiator: nodeA.Initiator}
	mustDo(t, e.lvm.ChangeTags(e.ctx, testVG, w.ID, []string{pubTag(nodeA), pubTag(clone)}, nil))
	got := kinds(e.audit(t))
	if got[DriftUnfinished] != 1 || got[DriftSharedInitiator] != 1 {
		t.Fatalf("Audit = %v, want one unfinished LV and one shared initiator", got)
	}
	// The shared volume has no target yet either.
	if got[DriftMissingTarget] != 1 {
		t.Fatalf("Audit = %v, want the published volume's missing target", got)
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A published target whose CHAP accounts are gone lets its bound
// initiators in without CHAP.
func TestAuditReportsATargetWithoutCHAP(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "pvc-chap", 64*mib, Thick)
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	for _, user := range e.target(t, v.ID).Accounts {
		mustDo(t, e.tgt.DeleteAccount(e.ctx, user))
	}
	if got := kinds(e.audit(t)); len(got) != 1 || got[DriftNoCHAP] != 1 {
		t.Fatalf("Audit = %v, want only %s", got, DriftNoCHAP)
	}
}
