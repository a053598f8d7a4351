package pool

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm/lvmfake"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt/tgtfake"
)

// forgingTgt is tgtfake whose target listing is rewritten by forge, the way
// a parser fooled by initiator-chosen text (an InitiatorAlias with line
// breaks) would misread tgtd. Every other call reaches the real fake, so
// the fake's own state shows what the pool really did to tgtd.
type forgingTgt struct {
	*tgtfake.Fake
	mu    sync.Mutex
	forge func(call int, real []tgt.Target) []tgt.Target
	lists int
}

func (f *forgingTgt) ListTargets(ctx context.Context) ([]tgt.Target, error) {
	real, err := f.Fake.ListTargets(ctx)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if f.forge == nil {
		return real, nil
	}
	return f.forge(f.lists, real), nil
}

// ListTargetsWithoutSessions is the same target listing, so it is forged
// alike. The driver listing (ListTargetNames) and the connection listing
// (TargetSessions) carry no alias and are not.
func (f *forgingTgt) ListTargetsWithoutSessions(ctx context.Context, names []tgt.TargetName) ([]tgt.Target, error) {
	real, err := f.Fake.ListTargetsWithoutSessions(ctx, names)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if f.forge == nil {
		return real, nil
	}
	return f.forge(f.lists, real), nil
}

func (f *forgingTgt) setForge(forge func(call int, real []tgt.Target) []tgt.Target) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forge, f.lists = forge, 0
}

// forgedEnv has two published volumes: A, published to the attacker
// (nodeA), who is logged in to it, and V, the victim's, published to nodeB.
type forgedEnv struct {
	*env
	forging *forgingTgt
	a, v    Volume
	tidA    int
	tidV    int
}

func newForgedEnv(t *testing.T) *forgedEnv {
	t.Helper()
	l := lvmfake.New(testVG, 10*gib, 4*mib)
	cfg := Config{VolumeGroup: testVG, Portal: "192.0.2.10:3260", IQNPrefix: testPrefix, CHAP: true, OverprovisionRatio: 1}
	secrets, err := NewFileSecretsOn(filepath.Join(t.TempDir(), "chap"), NewMemoryKeyDevice())
	if err != nil {
		t.Fatal(err)
	}
	fake := tgtfake.New()
	forging := &forgingTgt{Fake: fake}
	e := &env{lvm: l, tgt: fake, wiper: &recordingWiper{}, secrets: secrets, ctx: context.Background()}
	if e.pool, err = New(cfg, l, forging, secrets, e.wiper); err != nil {
		t.Fatal(err)
	}
	fe := &forgedEnv{env: e, forging: forging}
	fe.a = e.create(t, "tenant-a", 8*mib, Thick)
	fe.v = e.create(t, "tenant-v", 8*mib, Thick)
	expA, err := e.pool.Publish(e.ctx, fe.a.ID, nodeA, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Publish(e.ctx, fe.v.ID, nodeB, false); err != nil {
		t.Fatal(err)
	}
	fe.tidA, fe.tidV = e.target(t, fe.a.ID).TID, e.target(t, fe.v.ID).TID
	if _, err := fake.Login(fe.tidA, nodeA.Initiator, "192.0.2.66", expA.CHAP.User, expA.CHAP.Password); err != nil {
		t.Fatal(err)
	}
	return fe
}

// snapshot is tgtd's real state (the fake's, not the forged listing).
func (fe *forgedEnv) snapshot(t *testing.T) []tgt.Target {
	t.Helper()
	targets, err := fe.tgt.ListTargets(fe.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return targets
}

// mustBeUntouched fails unless tgtd is as before and nothing but listings
// was sent to it since calls.
func (fe *forgedEnv) mustBeUntouched(t *testing.T, before []tgt.Target, calls int) {
	t.Helper()
	for _, c := range fe.tgt.Calls()[calls:] {
		if !strings.HasPrefix(c, "List") {
			t.Errorf("the pool changed tgtd on a forged listing: %s", c)
		}
	}
	after := fe.snapshot(t)
	for _, b := range before {
		i := slices.IndexFunc(after, func(x tgt.Target) bool { return x.TID == b.TID })
		if i < 0 {
			t.Errorf("target %d (%s) is gone", b.TID, b.IQN)
			continue
		}
		a := after[i]
		if a.IQN != b.IQN || !slices.Equal(a.LUNs, b.LUNs) || !slices.Equal(a.InitiatorNames, b.InitiatorNames) ||
			!slices.Equal(a.Accounts, b.Accounts) || len(a.Sessions) != len(b.Sessions) {
			t.Errorf("target %d changed:\n%+v\nwas\n%+v", b.TID, a, b)
		}
	}
}

// asOldParserRead is how the old parser read the listing when the attacker
// logged in to A with the alias "x\nTarget <tidA>: <V's IQN>\n    Account
// information:": A kept only its session; a second target with A's tid and
// V's IQN took A's LUN, accounts and ACL.
func (fe *forgedEnv) asOldParserRead(iqnV string, tidA int) func(int, []tgt.Target) []tgt.Target {
	return func(_ int, real []tgt.Target) []tgt.Target {
		var out []tgt.Target
		for _, t := range real {
			if t.TID != tidA {
				out = append(out, t)
				continue
			}
			forged := t
			forged.IQN, forged.Sessions, forged.State = iqnV, nil, ""
			out = append(out, tgt.Target{TID: t.TID, IQN: t.IQN, State: t.State, Sessions: t.Sessions}, forged)
		}
		return out
	}
}

func TestForgedDuplicateTIDCannotSwapAnotherVolumesLUN(t *testing.T) {
	fe := newForgedEnv(t)
	before, calls := fe.snapshot(t), len(fe.tgt.Calls())
	fe.forging.setForge(fe.asOldParserRead(fe.pool.IQN(fe.v.ID), fe.tidA))

	err := fe.pool.Reconcile(fe.ctx)
	t.Logf("Reconcile on the forged listing: %v", err)
	if _, err := fe.pool.Publish(fe.ctx, fe.v.ID, nodeB, false); err == nil {
		t.Error("Publish of V succeeded on a listing with two targets of one tid")
	}
	fe.mustBeUntouched(t, before, calls)
}

// The listing names V's IQN at A's tid (and A nowhere): both tids are
// unique, but V's IQN is there twice.
func TestForgedDuplicateIQNCannotSwapAnotherVolumesLUN(t *testing.T) {
	fe := newForgedEnv(t)
	before, calls := fe.snapshot(t), len(fe.tgt.Calls())
	iqnV := fe.pool.IQN(fe.v.ID)
	fe.forging.setForge(func(_ int, real []tgt.Target) []tgt.Target {
		var out []tgt.Target
		for _, t := range real {
			if t.TID == fe.tidA {
				t.IQN = iqnV
			}
			out = append(out, t)
		}
		return out
	})

	err := fe.pool.Reconcile(fe.ctx)
	t.Logf("Reconcile on the forged listing: %v", err)
	fe.mustBeUntouched(t, before, calls)
}

// A forgery seen once (the first reading of a reconcile) must not be acted
// on: before a LUN is changed, the tid's IQN is read again from tgtd.
func TestTransientForgeryIsCaughtByTheRecheckBeforeALUNChange(t *testing.T) {
	fe := newForgedEnv(t)
	before, calls := fe.snapshot(t), len(fe.tgt.Calls())
	iqnV := fe.pool.IQN(fe.v.ID)
	fe.forging.setForge(func(call int, real []tgt.Target) []tgt.Target {
		if call > 1 {
			return real
		}
		// V's target is missing and A's tid carries V's name.
		var out []tgt.Target
		for _, t := range real {
			switch t.TID {
			case fe.tidV:
			case fe.tidA:
				t.IQN = iqnV
				out = append(out, t)
			default:
				out = append(out, t)
			}
		}
		return out
	})

	err := fe.pool.Reconcile(fe.ctx)
	t.Logf("Reconcile on the transiently forged listing: %v", err)
	after := fe.snapshot(t)
	for _, a := range after {
		if a.TID == fe.tidA && (len(a.LUNs) != 1 || a.LUNs[0].BackingStore != "/dev/vg0/"+fe.a.ID) {
			t.Errorf("A's target (tid %d) now exports %+v", a.TID, a.LUNs)
		}
	}
	for _, c := range fe.tgt.Calls()[calls:] {
		if c == "DeleteLUN" || c == "AddLUN" || c == "RefreshLUN" || c == "DeleteTarget" {
			t.Errorf("the pool ran %s on a listing it had not re-checked", c)
		}
	}
	_ = before
}

// A forged reading that names an orphan of ours (a volume id no LV backs)
// at A's tid would make the reconciler delete A's target: the tid is read
// again first.
func TestTransientForgeryCannotMakeTheReconcilerDeleteATarget(t *testing.T) {
	fe := newForgedEnv(t)
	before, calls := fe.snapshot(t), len(fe.tgt.Calls())
	orphan := fe.pool.IQN(VolumeID("never-created"))
	fe.forging.setForge(func(call int, real []tgt.Target) []tgt.Target {
		if call > 1 {
			return real
		}
		var out []tgt.Target
		for _, t := range real {
			if t.TID == fe.tidA {
				t.IQN = orphan
			}
			out = append(out, t)
		}
		return out
	})
	err := fe.pool.Reconcile(fe.ctx)
	t.Logf("Reconcile on the transiently forged listing: %v", err)
	if err == nil {
		t.Error("Reconcile succeeded although it could not remove what it took for an orphan")
	}
	for _, c := range fe.tgt.Calls()[calls:] {
		if c == "DeleteTarget" || c == "CloseConnection" || c == "DeleteLUN" {
			t.Errorf("the pool ran %s on a listing it had not re-checked", c)
		}
	}
	if got := fe.snapshot(t); len(got) != len(before) {
		t.Errorf("targets now %+v, were %+v", got, before)
	}
}

// The guard also checks the reading a pass works from, whoever built it:
// syncTarget, handed a reading in which V's IQN sits at A's tid as well as
// at its own, touches neither.
func TestGuardRefusesATIDBoundTwice(t *testing.T) {
	fe := newForgedEnv(t)
	before, calls := fe.snapshot(t), len(fe.tgt.Calls())
	real := fe.snapshot(t)
	st := &tgtState{accounts: map[string]bool{fe.a.ID: true, fe.v.ID: true}}
	st.targets = fe.asOldParserRead(fe.pool.IQN(fe.v.ID), fe.tidA)(0, real)
	// The forged entry (A's tid, V's IQN, A's LUN) first, so that it is
	// the one found for V.
	st.targets[0], st.targets[1] = st.targets[1], st.targets[0]
	lv, err := fe.lvm.GetLV(fe.ctx, testVG, fe.v.ID)
	if err != nil {
		t.Fatal(err)
	}
	err = fe.pool.syncTarget(fe.ctx, st, lv, []Node{nodeB}, Thick)
	if err == nil {
		t.Error("syncTarget acted on a reading that binds one tid to two IQNs")
	}
	t.Log(err)
	fe.mustBeUntouched(t, before, calls)
}

func TestBoundTo(t *testing.T) {
	targets := []tgt.Target{{TID: 1, IQN: "iqn.x:a"}, {TID: 2, IQN: "iqn.x:b"}}
	if err := boundTo(targets, 1, "iqn.x:a"); err != nil {
		t.Errorf("boundTo(1, a) = %v", err)
	}
	for _, c := range []struct {
		targets []tgt.Target
		tid     int
		iqn     string
	}{
		{targets, 1, "iqn.x:b"},
		{targets, 3, "iqn.x:c"},
		{append(slices.Clone(targets), tgt.Target{TID: 1, IQN: "iqn.x:a"}), 1, "iqn.x:a"},
		{append(slices.Clone(targets), tgt.Target{TID: 3, IQN: "iqn.x:a"}), 1, "iqn.x:a"},
	} {
		if err := boundTo(c.targets, c.tid, c.iqn); err == nil {
			t.Errorf("boundTo(%+v, %d, %s) = nil, want an error", c.targets, c.tid, c.iqn)
		}
	}
}
