package tgt

import (
	"errors"
	"reflect"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/toolerr"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

var (
	showLLD    = tgtadm("--op", "show", "--mode", "lld")
	showTarget = tgtadm("--op", "show", "--mode", "target")
)

func showConn(tid string) []string { return tgtadm("--op", "show", "--mode", "conn", "--tid", tid) }

// Sessions come from the connection listing, asked only of the targets
// whose target listing shows any.
func TestListTargetsReadsSessionsFromTheConnectionListing(t *testing.T) {
	lld := runnertest.Call{Argv: showLLD, Stdout: testdata(t, "show-lld.txt")}
	tg := newTestTgt(t, lld,
		runnertest.Call{Argv: showTarget, Stdout: testdata(t, "show-target-sessions.txt")},
		runnertest.Call{Argv: showConn("3"), Stdout: testdata(t, "show-conn-sessions.txt")},
		lld)
	got, err := tg.ListTargets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	volB := recordedVolB(true)
	volB.ACLs = []string{"127.0.0.1"}
	volB.Sessions = []Session{
		{SID: 2, Initiator: "iqn.1993-08.org.debian:01:node-b", Connections: []Connection{{CID: 0, IP: "127.0.0.1"}}},
		{SID: 1, Initiator: "iqn.1993-08.org.debian:01:node-a", Connections: []Connection{{CID: 0, IP: "127.0.0.1"}}},
	}
	if want := []Target{recordedVolA, volB}; !reflect.DeepEqual(got, want) {
		t.Errorf("ListTargets =\n%+v\nwant\n%+v", got, want)
	}
}

// The forged listings of parse_forged_test.go, through ListTargets: the
// skeleton is tgtd's, the sessions are what the connection listing says.
func TestListTargetsWithForgedAliases(t *testing.T) {
	for name, alias := range forgedAliases {
		t.Run(name, func(t *testing.T) {
			listing := forgedListing(alias)
			lld := runnertest.Call{Argv: showLLD, Stdout: renderLLD(listing)}
			tg := newTestTgt(t, lld,
				runnertest.Call{Argv: showTarget, Stdout: renderShow(listing)},
				runnertest.Call{Argv: showConn("1"), Stdout: renderConn(listing[0].Sessions)},
				runnertest.Call{Argv: showConn("2"), Stdout: renderConn(listing[1].Sessions)},
				lld)
			got, err := tg.ListTargets(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := forgedSkeleton()
			want[0].Sessions = []Session{{SID: 1, Initiator: forgedAttacker, Connections: []Connection{{CID: 0, IP: "192.0.2.66"}}}}
			want[1].Sessions = []Session{{SID: 2, Initiator: forgedVictim, Connections: []Connection{{CID: 0, IP: "192.0.2.7"}}}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ListTargets =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// A target created while the listing was taken makes the reading stale:
// it is taken again.
func TestListTargetsReadsAgainWhenTargetsChange(t *testing.T) {
	empty := runnertest.Call{Argv: showLLD, Stdout: testdata(t, "show-lld-empty.txt")}
	two := runnertest.Call{Argv: showLLD, Stdout: testdata(t, "show-lld.txt")}
	tg := newTestTgt(t,
		empty, runnertest.Call{Argv: showTarget, Stdout: ""}, two, // changed: again
		two, runnertest.Call{Argv: showTarget, Stdout: testdata(t, "show-target.txt")}, two)
	got, err := tg.ListTargets(ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("ListTargets = %+v, %v", got, err)
	}
}

func TestListTargetsGivesUpWhenTargetsKeepChanging(t *testing.T) {
	empty := runnertest.Call{Argv: showLLD, Stdout: testdata(t, "show-lld-empty.txt")}
	two := runnertest.Call{Argv: showLLD, Stdout: testdata(t, "show-lld.txt")}
	var calls []runnertest.Call
	for range listAttempts {
		calls = append(calls, empty, runnertest.Call{Argv: showTarget, Stdout: ""}, two)
	}
	_, err := newTestTgt(t, calls...).ListTargets(ctx)
	var tgtErr *toolerr.Error
	if !errors.Is(err, errTargetsChanged) || !errors.As(err, &tgtErr) {
		t.Errorf("ListTargets error = %v, want a *toolerr.Error saying the targets changed", err)
	}
}

// A header in the target listing that the driver listing does not name
// (a target created in between) cannot be placed: an error, never a merge
// into the target above it.
func TestListTargetsRefusesAHeaderTheDriverListingLacks(t *testing.T) {
	one := runnertest.Call{Argv: showLLD, Stdout: "LLDs:\n    iscsi: ready\n        Target 1: iqn.2026-11.io.csi.lvm-iscsi:vol-a\n"}
	_, err := newTestTgt(t, one, runnertest.Call{Argv: showTarget, Stdout: testdata(t, "show-target.txt")}, one).ListTargets(ctx)
	if err == nil {
		t.Fatal("ListTargets accepted a target the driver listing does not name")
	}
	t.Log(err)
}

// A busy target deleted before its connections are listed: read again.
func TestListTargetsReadsAgainWhenABusyTargetGoes(t *testing.T) {
	lld := runnertest.Call{Argv: showLLD, Stdout: testdata(t, "show-lld.txt")}
	gone := recordedFailure(t, "target-not-found", showConn("3"))
	tg := newTestTgt(t,
		lld, runnertest.Call{Argv: showTarget, Stdout: testdata(t, "show-target-sessions.txt")}, gone,
		lld, runnertest.Call{Argv: showTarget, Stdout: testdata(t, "show-target.txt")}, lld)
	got, err := tg.ListTargets(ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("ListTargets = %+v, %v", got, err)
	}
}
