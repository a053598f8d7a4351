package pool

import (
	"errors"
	"strings"
	"testing"
)

// healthReasons is what AllHealth and VolumeHealth say of volume id.
func healthReasons(t *testing.T, e *env, id string) (all, one []string) {
	t.Helper()
	r, err := e.pool.AllHealth(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range r.Volumes {
		if v.Volume.ID == id {
			for _, h := range v.Health {
				all = append(all, h.Reason)
			}
		}
	}
	hs, err := e.pool.VolumeHealth(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		one = append(one, h.Reason)
	}
	return all, one
}

// A published volume whose target tgtd lost (restarted, and the
// reconciler has not restored it) is unreachable for its node: both health
// readings say so, naming the node and the target, until the reconciler
// brings the target back.
func TestPublishedVolumeWithoutTargetIsAbnormal(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "pub", 64*mib, Thin)
	idle := e.create(t, "idle", 64*mib, Thin)
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	if all, one := healthReasons(t, e, v.ID); len(all)+len(one) != 0 {
		t.Fatalf("a published volume with its target: AllHealth %v, VolumeHealth %v", all, one)
	}
	e.tgt.Restart()
	all, one := healthReasons(t, e, v.ID)
	if len(all) != 1 || all[0] != ReasonTargetMissing || len(one) != 1 || one[0] != ReasonTargetMissing {
		t.Fatalf("target gone: AllHealth %v, VolumeHealth %v; want [%s] from both", all, one, ReasonTargetMissing)
	}
	hs, _ := e.pool.VolumeHealth(e.ctx, v.ID)
	if msg := hs[0].Message; !strings.Contains(msg, nodeA.ID) || !strings.Contains(msg, e.pool.IQN(v.ID)) {
		t.Errorf("the message names neither the node nor the target: %s", msg)
	}
	// The unpublished volume has no target to miss.
	if all, one := healthReasons(t, e, idle.ID); len(all)+len(one) != 0 {
		t.Errorf("an unpublished volume: AllHealth %v, VolumeHealth %v", all, one)
	}
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	if all, one := healthReasons(t, e, v.ID); len(all)+len(one) != 0 {
		t.Errorf("after the reconciler restored the target: AllHealth %v, VolumeHealth %v", all, one)
	}
}

// tgtd unreadable: a published volume's target cannot be checked, which is
// its own reason, not a claim that the target is missing.
func TestPublishedVolumeWithTgtdUnreadableIsUnknown(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "pub", 64*mib, Thin)
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	e.tgt.FailNext("ListTargetNames", errors.New("tgtadm: can't send the request to the tgt daemon"))
	hs, err := e.pool.VolumeHealth(e.ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 1 || hs[0].Reason != ReasonTargetUnknown || !strings.Contains(hs[0].Message, "can't send the request") {
		t.Fatalf("tgtd unreadable: %+v; want one %s naming the error", hs, ReasonTargetUnknown)
	}
}

// A Publish under way has written the node's tag but not yet made the
// target: that is no missing target (the node logs in only after Publish
// returns), so health says nothing of it.
func TestVolumeBeingPublishedIsNotTargetMissing(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "pub", 64*mib, Thin)
	// The target step fails, leaving the tag written and no target, as a
	// Publish between its two steps does.
	e.tgt.FailNext("ListTargetNames", errors.New("tgtadm: interrupted"))
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err == nil {
		t.Fatal("Publish succeeded despite the failing tgtd reading")
	}
	leave := e.pool.publishing.enter(v.ID)
	if hs, err := e.pool.VolumeHealth(e.ctx, v.ID); err != nil || len(hs) != 0 {
		t.Errorf("during a Publish: %+v, %v; want nothing", hs, err)
	}
	leave()
	if hs, err := e.pool.VolumeHealth(e.ctx, v.ID); err != nil || len(hs) != 1 || hs[0].Reason != ReasonTargetMissing {
		t.Errorf("after the Publish failed half-way: %+v, %v; want %s", hs, err, ReasonTargetMissing)
	}
}
