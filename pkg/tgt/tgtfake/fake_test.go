package tgtfake

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/toolerr"
)

var ctx = context.Background()

const (
	iqnA  = "iqn.2026-11.io.csi.lvm-iscsi:vol-a"
	iqnB  = "iqn.2026-11.io.csi.lvm-iscsi:vol-b"
	nodeA = "iqn.1993-08.org.debian:01:node-a"
	nodeB = "iqn.1993-08.org.debian:01:node-b"
	store = "/dev/vg0/vol-a"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

func listOne(t *testing.T, f *Fake) tgt.Target {
	t.Helper()
	targets, err := f.ListTargets(ctx)
	must(t, err)
	if len(targets) != 1 {
		t.Fatalf("ListTargets = %+v, want one target", targets)
	}
	return targets[0]
}

func TestTargetsAndLUNs(t *testing.T) {
	f := New()
	must(t, f.CreateTarget(ctx, 1, iqnA))
	wantErr(t, "taken tid", f.CreateTarget(ctx, 1, iqnB), tgt.ErrExists)
	wantErr(t, "taken name", f.CreateTarget(ctx, 2, iqnA), tgt.ErrExists)
	wantErr(t, "tid 0", f.CreateTarget(ctx, 0, iqnB), tgt.ErrInvalid)

	f.SetSize(store, 1<<30)
	must(t, f.AddLUN(ctx, 1, 1, store, tgt.LUNParams{SCSIID: "vol-a", SCSISN: "vol-a", ThinProvisioning: true}))
	wantErr(t, "LUN again", f.AddLUN(ctx, 1, 1, store, tgt.LUNParams{}), tgt.ErrExists)
	wantErr(t, "no backing store", f.AddLUN(ctx, 1, 2, "", tgt.LUNParams{}), tgt.ErrInvalid)
	wantErr(t, "missing target", f.AddLUN(ctx, 9, 1, store, tgt.LUNParams{}), tgt.ErrNotFound)
	wantErr(t, "serial too long", f.AddLUN(ctx, 1, 2, store, tgt.LUNParams{SCSISN: string(make([]byte, tgt.MaxSCSISNLen+1))}), tgt.ErrInvalid)
	// Like tgtd, the size is read when the LUN is added or refreshed.
	f.SetSize(store, 2<<30)
	if got := listOne(t, f).LUNs[0].Size; got != 1<<30 {
		t.Errorf("size before refresh = %d, want the size at AddLUN", got)
	}
	must(t, f.RefreshLUN(ctx, 1, 1, store))
	if got := listOne(t, f).LUNs[0].Size; got != 2<<30 {
		t.Errorf("size after refresh = %d, want 2 GiB", got)
	}
	wantErr(t, "refresh of a missing LUN", f.RefreshLUN(ctx, 1, 4, store), tgt.ErrNotFound)
	f.SetSize(store, 1<<30)
	must(t, f.RefreshLUN(ctx, 1, 1, store))

	want := tgt.Target{TID: 1, IQN: iqnA, State: "ready", LUNs: []tgt.LUN{{
		Number: 1, Size: 1 << 30, BlockSize: 512, Type: "disk", SCSIID: "vol-a", SCSISN: "vol-a",
		Online: true, ThinProvisioning: true, BackingStore: store, BackingStoreType: "rdwr",
	}}}
	if got := listOne(t, f); !reflect.DeepEqual(got, want) {
		t.Errorf("ListTargets =\n%+v\nwant\n%+v", got, want)
	}

	must(t, f.DeleteLUN(ctx, 1, 1))
	wantErr(t, "DeleteLUN again", f.DeleteLUN(ctx, 1, 1), tgt.ErrNotFound)
	must(t, f.DeleteTarget(ctx, 1))
	wantErr(t, "DeleteTarget again", f.DeleteTarget(ctx, 1), tgt.ErrNotFound)
}

// TestDefaultSerialFollowsTID mirrors tgt: without params the serial is
// derived from the tid, which is why pkg/pool must always set it.
func TestDefaultSerialFollowsTID(t *testing.T) {
	f := New()
	must(t, f.CreateTarget(ctx, 3, iqnA))
	must(t, f.AddLUN(ctx, 3, 1, store, tgt.LUNParams{}))
	l := listOne(t, f).LUNs[0]
	if l.SCSIID != "IET     00030001" || l.SCSISN != "beaf31" {
		t.Errorf("default id/serial = %q/%q, want tgt's IET     00030001/beaf31", l.SCSIID, l.SCSISN)
	}
}

func TestListTargetsReturnsCopiesInTIDOrder(t *testing.T) {
	f := New()
	must(t, f.CreateTarget(ctx, 5, iqnB))
	must(t, f.CreateTarget(ctx, 2, iqnA))
	must(t, f.BindInitiator(ctx, 2, nodeA))
	targets, err := f.ListTargets(ctx)
	must(t, err)
	if len(targets) != 2 || targets[0].TID != 2 || targets[1].TID != 5 {
		t.Fatalf("ListTargets = %+v, want tids 2 then 5", targets)
	}
	targets[0].InitiatorNames[0] = "changed by the caller"
	again, _ := f.ListTargets(ctx)
	if again[0].InitiatorNames[0] != nodeA {
		t.Error("ListTargets shares memory with the fake")
	}
	if tgt.FreeTID(targets) != 1 {
		t.Errorf("FreeTID = %d", tgt.FreeTID(targets))
	}
}

func TestInitiatorBindings(t *testing.T) {
	f := New()
	must(t, f.CreateTarget(ctx, 1, iqnA))
	must(t, f.BindInitiator(ctx, 1, nodeA))
	must(t, f.BindInitiator(ctx, 1, nodeB))
	wantErr(t, "bind again", f.BindInitiator(ctx, 1, nodeA), tgt.ErrExists)
	wantErr(t, "bind on a missing target", f.BindInitiator(ctx, 2, nodeA), tgt.ErrNotFound)
	must(t, f.UnbindInitiator(ctx, 1, nodeA))
	wantErr(t, "unbind again", f.UnbindInitiator(ctx, 1, nodeA), tgt.ErrNotFound)
	if got := listOne(t, f).InitiatorNames; !slices.Equal(got, []string{nodeB}) {
		t.Errorf("InitiatorNames = %q", got)
	}
}

func TestAccounts(t *testing.T) {
	f := New()
	must(t, f.CreateTarget(ctx, 1, iqnA))
	must(t, f.CreateAccount(ctx, "in", "in-secret"))
	must(t, f.CreateAccount(ctx, "other", "other-secret"))
	wantErr(t, "account again", f.CreateAccount(ctx, "in", "x"), tgt.ErrExists)
	wantErr(t, "bind a missing account", f.BindAccount(ctx, 1, "nobody"), tgt.ErrNotFound)
	wantErr(t, "bind on a missing target", f.BindAccount(ctx, 9, "in"), tgt.ErrNotFound)
	must(t, f.BindAccount(ctx, 1, "in"))
	wantErr(t, "bind again", f.BindAccount(ctx, 1, "in"), tgt.ErrExists)

	users, err := f.ListAccounts(ctx)
	must(t, err)
	if !slices.Equal(users, []string{"in", "other"}) {
		t.Errorf("ListAccounts = %q", users)
	}
	if target := listOne(t, f); !slices.Equal(target.Accounts, []string{"in"}) {
		t.Errorf("bound accounts = %q", target.Accounts)
	}

	// Deleting an account unbinds it, as in tgtd.
	must(t, f.DeleteAccount(ctx, "in"))
	wantErr(t, "delete again", f.DeleteAccount(ctx, "in"), tgt.ErrNotFound)
	if target := listOne(t, f); target.Accounts != nil && len(target.Accounts) != 0 {
		t.Errorf("deleted account still bound: %q", target.Accounts)
	}
}

func TestLoginFollowsACLsAndCHAP(t *testing.T) {
	f := New()
	must(t, f.CreateTarget(ctx, 1, iqnA))
	if _, err := f.Login(1, nodeA, "10.0.0.5", "", ""); !errors.Is(err, ErrLoginRefused) {
		t.Errorf("login with no binding: err = %v, want ErrLoginRefused", err)
	}
	must(t, f.BindInitiator(ctx, 1, nodeA))
	sid, err := f.Login(1, nodeA, "10.0.0.5", "", "")
	must(t, err)

	must(t, f.CreateAccount(ctx, "in", "in-secret"))
	must(t, f.BindAccount(ctx, 1, "in"))
	if _, err := f.Login(1, nodeA, "10.0.0.5", "in", "wrong"); !errors.Is(err, ErrLoginRefused) {
		t.Errorf("login with a wrong password: err = %v", err)
	}
	sid2, err := f.Login(1, nodeA, "10.0.0.5", "in", "in-secret")
	must(t, err)
	if sid2 == sid {
		t.Errorf("two sessions got sid %d", sid)
	}
	if _, err := f.Login(1, nodeB, "10.0.0.6", "in", "in-secret"); !errors.Is(err, ErrLoginRefused) {
		t.Errorf("login of an unbound initiator: err = %v", err)
	}
	want := tgt.Session{SID: sid, Initiator: nodeA, Connections: []tgt.Connection{{CID: 0, IP: "10.0.0.5"}}}
	if got := listOne(t, f).Sessions; len(got) != 2 || !reflect.DeepEqual(got[0], want) {
		t.Errorf("Sessions = %+v", got)
	}
}

func TestOfflineTargetRefusesLogins(t *testing.T) {
	f := New()
	must(t, f.CreateTarget(ctx, 1, iqnA))
	must(t, f.BindInitiator(ctx, 1, nodeA))
	must(t, f.SetTargetState(ctx, 1, tgt.StateOffline))
	if got := listOne(t, f).State; got != tgt.StateOffline {
		t.Errorf("State = %q after SetTargetState offline", got)
	}
	if _, err := f.Login(1, nodeA, "10.0.0.5", "", ""); !errors.Is(err, ErrLoginRefused) {
		t.Errorf("login to an offline target: err = %v, want ErrLoginRefused", err)
	}
	wantErr(t, "unknown state", f.SetTargetState(ctx, 1, "busy"), tgt.ErrInvalid)
	wantErr(t, "missing target", f.SetTargetState(ctx, 2, tgt.StateReady), tgt.ErrNotFound)
	must(t, f.SetTargetState(ctx, 1, tgt.StateReady))
	if _, err := f.Login(1, nodeA, "10.0.0.5", "", ""); err != nil {
		t.Errorf("login once ready again: %v", err)
	}
}

func TestCloseConnection(t *testing.T) {
	f := New()
	must(t, f.CreateTarget(ctx, 1, iqnA))
	must(t, f.BindInitiator(ctx, 1, nodeA))
	must(t, f.BindInitiator(ctx, 1, nodeB))
	sidA, err := f.Login(1, nodeA, "10.0.0.5", "", "")
	must(t, err)
	sidB, err := f.Login(1, nodeB, "10.0.0.6", "", "")
	must(t, err)
	wantErr(t, "missing session", f.CloseConnection(ctx, 1, sidB+1, 0), tgt.ErrNotFound)
	wantErr(t, "missing connection", f.CloseConnection(ctx, 1, sidA, 5), tgt.ErrNotFound)
	wantErr(t, "missing target", f.CloseConnection(ctx, 2, sidA, 0), tgt.ErrNotFound)
	must(t, f.CloseConnection(ctx, 1, sidA, 0))
	if s := listOne(t, f).Sessions; len(s) != 1 || s[0].SID != sidB {
		t.Errorf("session outlived its last connection, or the other went too: %+v", s)
	}
}

func TestRestartForgetsEverything(t *testing.T) {
	f := New()
	must(t, f.CreateTarget(ctx, 1, iqnA))
	must(t, f.AddLUN(ctx, 1, 1, store, tgt.LUNParams{SCSISN: "vol-a"}))
	must(t, f.CreateAccount(ctx, "in", "in-secret"))
	f.Restart()
	targets, err := f.ListTargets(ctx)
	must(t, err)
	users, err := f.ListAccounts(ctx)
	must(t, err)
	if len(targets) != 0 || len(users) != 0 {
		t.Errorf("after Restart: targets %+v, accounts %q", targets, users)
	}
	must(t, f.CreateTarget(ctx, 1, iqnA)) // the tid and name are free again
}

func TestFailNext(t *testing.T) {
	f := New()
	boom := errors.New("boom")
	f.FailNext("CreateTarget", boom)
	f.FailNext("CreateTarget", tgt.ErrBusy)
	if err := f.CreateTarget(ctx, 1, iqnA); err != boom {
		t.Errorf("first call: %v, want boom", err)
	}
	if err := f.CreateTarget(ctx, 1, iqnA); err != tgt.ErrBusy {
		t.Errorf("second call: %v, want ErrBusy", err)
	}
	if _, err := f.ListTargets(ctx); err != nil {
		t.Errorf("another method failed: %v", err)
	}
	if targets, _ := f.ListTargets(ctx); len(targets) != 0 {
		t.Errorf("a failed call changed state: %+v", targets)
	}
	must(t, f.CreateTarget(ctx, 1, iqnA))
	want := []string{"CreateTarget", "CreateTarget", "ListTargets", "ListTargets", "CreateTarget"}
	if got := f.Calls(); !slices.Equal(got, want) {
		t.Errorf("Calls = %q, want %q", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("FailNext of an unknown method did not panic")
		}
	}()
	f.FailNext("CreateTargets", boom)
}

// TestErrorsHaveTheRealShape: callers see what tgt.Tgt returns, a
// *toolerr.Error of tgt that matches the sentinel.
func TestErrorsHaveTheRealShape(t *testing.T) {
	err := New().DeleteTarget(ctx, 1)
	var te *toolerr.Error
	if !errors.As(err, &te) || te.Tool != "tgt" || !errors.Is(err, tgt.ErrNotFound) {
		t.Errorf("DeleteTarget of a missing target = %#v", err)
	}
}

func TestTargetParamsAreForgottenWithTheTargetAndOnRestart(t *testing.T) {
	ctx := context.Background()
	f := New()
	if err := f.SetTargetParams(ctx, 1, []tgt.TargetParam{{Name: "InitialR2T", Value: "No"}}); !errors.Is(err, tgt.ErrNotFound) {
		t.Errorf("params of a missing target: %v, want ErrNotFound", err)
	}
	if err := f.CreateTarget(ctx, 1, "iqn.2026-11.x:a"); err != nil {
		t.Fatal(err)
	}
	if err := f.SetTargetParams(ctx, 1, []tgt.TargetParam{{Name: "InitialR2T", Value: "maybe"}}); !errors.Is(err, tgt.ErrInvalid) {
		t.Errorf("a bad value: %v, want ErrInvalid", err)
	}
	if err := f.SetTargetParams(ctx, 1, []tgt.TargetParam{{Name: "InitialR2T", Value: "No"}}); err != nil {
		t.Fatal(err)
	}
	if got := f.TargetParams(1); got["InitialR2T"] != "No" || len(got) != 1 {
		t.Errorf("TargetParams = %v", got)
	}
	f.Restart()
	if got := f.TargetParams(1); got != nil {
		t.Errorf("after a restart: %v, want none", got)
	}
	if err := f.CreateTarget(ctx, 1, "iqn.2026-11.x:a"); err != nil {
		t.Fatal(err)
	}
	if err := f.SetTargetParams(ctx, 1, []tgt.TargetParam{{Name: "InitialR2T", Value: "No"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.DeleteTarget(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if got := f.TargetParams(1); got != nil {
		t.Errorf("after the target's delete: %v, want none", got)
	}
}
