package pool

import (
	"os"
	"slices"
	"testing"
)

// The storage host's state directory (--state-dir) can be lost (a
// reinstalled host, a wiped hostPath) while the volume group and tgtd live
// on. These tests model exactly that: the VG and tgtd fakes are kept, the
// directory is removed and the pool is built again.

// loseStateDir removes the controller's state directory.
func (e *env) loseStateDir(t *testing.T) {
	t.Helper()
	if err := os.RemoveAll(e.stateDir); err != nil {
		t.Fatal(err)
	}
}

// restartPool builds a new Pool over the same VG (LV contents included)
// and tgtd, as a restarted controller does.
func (e *env) restartPool(t *testing.T) {
	t.Helper()
	secrets, err := NewFileSecretsOn(e.stateDir, e.keyDev)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(e.pool.cfg, e.lvm, e.tgt, secrets, e.wiper)
	if err != nil {
		t.Fatal(err)
	}
	e.pool, e.secrets = p, secrets
}

// login logs node in to volume id's target with creds, as iscsid would.
func (e *env) login(t *testing.T, id string, node Node, creds *CHAP) error {
	t.Helper()
	tg := e.target(t, id)
	if tg == nil {
		t.Fatalf("volume %s has no target", id)
	}
	if creds == nil {
		t.Fatal("no CHAP credentials handed out")
	}
	_, err := e.tgt.Login(tg.TID, node.Initiator, "192.0.2.99", creds.User, creds.Password)
	return err
}

// A publication's credentials sit in its VolumeAttachment and are handed
// to NodeStage again and again (a new pod, a node reboot) without a new
// ControllerPublish. Losing the state directory must not lock that node
// out, nor make what a new ControllerPublish hands out useless, with or
// without tgtd restarting too.
func TestCredentialsSurviveLossOfStateDir(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "pvc-1", 64*mib, Thin)
	held, err := e.pool.Publish(e.ctx, v.ID, nodeA, false)
	if err != nil {
		t.Fatal(err)
	}

	e.loseStateDir(t)
	e.restartPool(t)
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.login(t, v.ID, nodeA, held.CHAP); err != nil {
		t.Fatalf("the credentials the VolumeAttachment holds are refused after the state dir was lost: %v", err)
	}
	again, err := e.pool.Publish(e.ctx, v.ID, nodeA, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.login(t, v.ID, nodeA, again.CHAP); err != nil {
		t.Fatalf("the credentials a new ControllerPublish hands out are refused by tgtd: %v", err)
	}

	// tgtd restarts as well: the reconciler has only the LV tags and what
	// survived to rebuild the accounts from.
	e.tgt.Restart()
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	for what, creds := range map[string]*CHAP{"first": held.CHAP, "latest": again.CHAP} {
		if err := e.login(t, v.ID, nodeA, creds); err != nil {
			t.Errorf("after the loss and a tgtd restart, the %s credentials are refused: %v", what, err)
		}
	}
}

// The reconciler alone (no publish call) brings tgtd's accounts in line
// with the credentials the controller hands out, after the secret store was
// lost while tgtd kept the old account.
func TestReconcileRepairsAccountsAfterSecretsLost(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "pvc-1", 8*mib, Thick)
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	e.loseStateDir(t)
	e.restartPool(t)
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	creds := e.handedOut(t, v.ID, nodeA)
	if pw, ok := e.tgt.Password(creds.User); !ok || pw != creds.Password {
		t.Fatalf("after reconcile, tgtd's account %s does not hold the password the controller hands out", creds.User)
	}
	if err := e.login(t, v.ID, nodeA, &creds); err != nil {
		t.Fatalf("the credentials the controller hands out are refused: %v", err)
	}
}

// Least privilege: a node that was unpublished keeps whatever it was told,
// and initiator names are no secret (CSINode shows them), so what it knows
// must not let it in as another, still published, node.
func TestUnpublishedNodeCannotReuseItsCredentials(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "pvc-1", 8*mib, Thick)
	expA, err := e.pool.Publish(e.ctx, v.ID, nodeA, true)
	if err != nil {
		t.Fatal(err)
	}
	expB, err := e.pool.Publish(e.ctx, v.ID, nodeB, true)
	if err != nil {
		t.Fatal(err)
	}
	if *expA.CHAP == *expB.CHAP {
		t.Error("two nodes were given the same credentials")
	}
	if err := e.pool.Unpublish(e.ctx, v.ID, nodeA.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.login(t, v.ID, nodeB, expA.CHAP); err == nil {
		t.Fatal("the unpublished node A logged in under node B's initiator name with its old credentials")
	}
	if err := e.login(t, v.ID, nodeB, expB.CHAP); err != nil {
		t.Fatalf("node B lost access: %v", err)
	}
}

// A node whose key (or initiator name) changed comes back with a new node
// id under the same node name: it replaces its old publication instead of
// being refused as "another node", and unpublishing it by either id fences it.
func TestSameNodeWithNewIDReplacesItsPublication(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "pvc-1", 8*mib, Thick)
	first, err := e.pool.Publish(e.ctx, v.ID, nodeA, false)
	if err != nil {
		t.Fatal(err)
	}
	rekeyed := Node{ID: "node-a/" + nodeA.Initiator + "/a-new-key", Initiator: nodeA.Initiator}
	exp, err := e.pool.Publish(e.ctx, v.ID, rekeyed, false)
	if err != nil {
		t.Fatalf("publishing to the same node under its new id: %v", err)
	}
	got, _ := e.pool.Get(e.ctx, v.ID)
	if len(got.Nodes) != 1 || got.Nodes[0] != rekeyed {
		t.Fatalf("publications %+v, want only %+v", got.Nodes, rekeyed)
	}
	if err := e.login(t, v.ID, nodeA, exp.CHAP); err != nil {
		t.Fatal(err)
	}
	// Only the sealing key changed: the node's sessions, which log in
	// again with what iscsid kept, must go on working.
	e.tgt.Restart()
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.login(t, v.ID, nodeA, first.CHAP); err != nil {
		t.Fatalf("the credentials the node's sessions hold stopped working when its key changed: %v", err)
	}
	// The CO unpublishes with whatever id CSINode has now: the old one here.
	if err := e.pool.Unpublish(e.ctx, v.ID, nodeA.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.pool.Get(e.ctx, v.ID); len(got.Nodes) != 0 {
		t.Fatalf("still published to %+v after unpublishing node-a", got.Nodes)
	}
	if e.target(t, v.ID) != nil {
		t.Fatal("target still exported")
	}
}

// Rotation: the administrator asks for new credentials with a tag; new
// publications get them at once, while what attached nodes hold keeps
// working (also across a tgtd restart) until the volume is unpublished.
func TestRotationIsMakeBeforeBreak(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "pvc-1", 8*mib, Thick)
	old, err := e.pool.Publish(e.ctx, v.ID, nodeA, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.lvm.ChangeTags(e.ctx, testVG, v.ID, []string{"lic.rotate"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	lv, _ := e.lvm.GetLV(e.ctx, testVG, v.ID)
	if slices.Contains(lv.Tags, "lic.rotate") {
		t.Fatalf("the rotation request is still pending after a reconcile: %v", lv.Tags)
	}
	rotated, err := e.pool.Publish(e.ctx, v.ID, nodeA, false)
	if err != nil {
		t.Fatal(err)
	}
	if *rotated.CHAP == *old.CHAP {
		t.Fatal("a publish after the rotation handed out the old credentials")
	}
	e.tgt.Restart()
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	for what, creds := range map[string]*CHAP{"old": old.CHAP, "rotated": rotated.CHAP} {
		if err := e.login(t, v.ID, nodeA, creds); err != nil {
			t.Errorf("while still attached, the %s credentials are refused: %v", what, err)
		}
	}
	// Detached and attached again: only the new credentials are left.
	if err := e.pool.Unpublish(e.ctx, v.ID, nodeA.ID); err != nil {
		t.Fatal(err)
	}
	again, err := e.pool.Publish(e.ctx, v.ID, nodeA, false)
	if err != nil {
		t.Fatal(err)
	}
	if *again.CHAP != *rotated.CHAP {
		t.Error("the credentials changed again without a rotation")
	}
	if err := e.login(t, v.ID, nodeA, old.CHAP); err == nil {
		t.Error("the credentials from before the rotation still work after a detach and attach")
	}
}

// handedOut is what the controller would hand node for volume id now.
func (e *env) handedOut(t *testing.T, id string, node Node) CHAP {
	t.Helper()
	lv, err := e.lvm.GetLV(e.ctx, testVG, id)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.pool.credentials(e.ctx, lv, node)
	if err != nil {
		t.Fatal(err)
	}
	return *c
}
