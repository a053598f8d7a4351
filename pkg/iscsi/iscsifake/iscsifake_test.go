package iscsifake

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
)

const (
	portal = "10.0.0.5:3260"
	iqnA   = "iqn.2026-11.io.csi.lvm-iscsi:vol-a"
	iqnB   = "iqn.2026-11.io.csi.lvm-iscsi:vol-b"
)

func TestLoginLogoutDelete(t *testing.T) {
	ctx := context.Background()
	f := New()
	chap := &iscsi.CHAP{User: "u", Password: "p"}
	if err := f.Login(ctx, iscsi.Target{Portal: portal, IQN: iqnA, LUN: 1, CHAP: chap}); err != nil {
		t.Fatal(err)
	}
	chap.Password = "changed by the caller"
	if err := f.Login(ctx, iscsi.Target{Portal: portal, IQN: iqnB, LUN: 1}); err != nil {
		t.Fatal(err)
	}
	// Logging in again keeps the session.
	if err := f.Login(ctx, iscsi.Target{Portal: portal, IQN: iqnA, LUN: 1, CHAP: &iscsi.CHAP{User: "u", Password: "p"}}); err != nil {
		t.Fatal(err)
	}
	sessions, err := f.Sessions(ctx)
	want := []iscsi.Session{{ID: 1, Portal: portal, IQN: iqnA}, {ID: 2, Portal: portal, IQN: iqnB}}
	if err != nil || !reflect.DeepEqual(sessions, want) {
		t.Fatalf("Sessions = %+v, %v; want %+v", sessions, err, want)
	}
	if rec, ok := f.Record(portal, iqnA); !ok || rec.CHAP == nil || rec.CHAP.Password != "p" {
		t.Fatalf("Record = %+v, %v; want the CHAP of the last login", rec, ok)
	}
	if got := len(f.Logins()); got != 3 {
		t.Fatalf("Logins recorded %d calls, want 3", got)
	}

	if err := f.Logout(ctx, portal, iqnA); err != nil {
		t.Fatal(err)
	}
	if err := f.Logout(ctx, portal, iqnA); err != nil {
		t.Fatalf("second Logout: %v", err)
	}
	if f.LoggedIn(portal, iqnA) || !f.LoggedIn(portal, iqnB) {
		t.Fatal("Logout ended the wrong session")
	}
	if _, ok := f.Record(portal, iqnA); !ok {
		t.Fatal("Logout removed the record")
	}
	if err := f.DeleteRecord(ctx, portal, iqnA); err != nil {
		t.Fatal(err)
	}
	if err := f.DeleteRecord(ctx, portal, iqnA); err != nil {
		t.Fatalf("second DeleteRecord: %v", err)
	}
	if _, ok := f.Record(portal, iqnA); ok {
		t.Fatal("DeleteRecord kept the record")
	}
	if got := f.Logouts(); !reflect.DeepEqual(got, []Node{{portal, iqnA}, {portal, iqnA}}) {
		t.Fatalf("Logouts = %+v", got)
	}
	if got := f.Deletes(); len(got) != 2 {
		t.Fatalf("Deletes = %+v, want two calls", got)
	}
}

func TestFailNext(t *testing.T) {
	ctx := context.Background()
	f := New()
	boom := errors.New("boom")
	f.FailNext(Login, boom)
	if err := f.Login(ctx, iscsi.Target{Portal: portal, IQN: iqnA, LUN: 1}); !errors.Is(err, boom) {
		t.Fatalf("Login = %v, want the queued error", err)
	}
	if f.LoggedIn(portal, iqnA) {
		t.Fatal("a failed Login opened a session")
	}
	if err := f.Login(ctx, iscsi.Target{Portal: portal, IQN: iqnA, LUN: 1}); err != nil {
		t.Fatalf("Login after the failure: %v", err)
	}
	f.FailNext(Sessions, boom)
	if _, err := f.Sessions(ctx); !errors.Is(err, boom) {
		t.Fatalf("Sessions = %v, want the queued error", err)
	}
	f.FailNext(Logout, boom)
	if err := f.Logout(ctx, portal, iqnA); !errors.Is(err, boom) || !f.LoggedIn(portal, iqnA) {
		t.Fatalf("Logout = %v, want the queued error and the session kept", err)
	}
}

func TestFailNextUnknownMethodPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("FailNext of an unknown method did not panic")
		}
	}()
	New().FailNext("Logn", errors.New("x"))
}

func TestRescan(t *testing.T) {
	ctx := context.Background()
	f := New()
	s := f.AddSession(portal, iqnA)
	if err := f.Rescan(ctx, s.ID); err != nil {
		t.Fatalf("Rescan of an open session: %v", err)
	}
	if err := f.Rescan(ctx, s.ID+1); !errors.Is(err, iscsi.ErrNotFound) {
		t.Fatalf("Rescan of no session: %v, want iscsi.ErrNotFound", err)
	}
	if got := f.Rescans(); !reflect.DeepEqual(got, []int{s.ID, s.ID + 1}) {
		t.Fatalf("Rescans = %v", got)
	}
}

func TestLoginRefusesWhatTheRealOneRefuses(t *testing.T) {
	f := New()
	err := f.Login(context.Background(), iscsi.Target{Portal: "storage.example:3260", IQN: iqnA})
	if !errors.Is(err, iscsi.ErrInvalidArgument) || !errors.Is(err, iscsi.ErrLoginFailed) {
		t.Fatalf("Login with a host name portal: %v", err)
	}
}

func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := New()
	if err := f.Login(ctx, iscsi.Target{Portal: portal, IQN: iqnA}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Login with a cancelled context: %v", err)
	}
}
