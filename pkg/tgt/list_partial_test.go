package tgt

import (
	"errors"
	"reflect"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

// Without sessions, a busy target costs no connection listing: the three
// listings whatever the number of logged-in initiators, and the targets
// exactly as ListTargets gives them but for their sessions.
func TestListTargetsWithoutSessionsReadsNoConnectionListing(t *testing.T) {
	lld := runnertest.Call{Argv: showLLD, Stdout: testdata(t, "show-lld.txt")}
	tg := newTestTgt(t, lld, runnertest.Call{Argv: showTarget, Stdout: testdata(t, "show-target-sessions.txt")}, lld)
	got, err := tg.ListTargetsWithoutSessions(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	volB := recordedVolB(true)
	volB.ACLs = []string{"127.0.0.1"}
	if want := []Target{recordedVolA, volB}; !reflect.DeepEqual(got, want) {
		t.Errorf("ListTargetsWithoutSessions =\n%+v\nwant\n%+v", got, want)
	}
}

// The forged listings of parse_forged_test.go keep their defence without
// the connection listings: the skeleton is tgtd's, the alias text is not
// read at all.
func TestListTargetsWithoutSessionsWithForgedAliases(t *testing.T) {
	for name, alias := range forgedAliases {
		t.Run(name, func(t *testing.T) {
			listing := forgedListing(alias)
			lld := runnertest.Call{Argv: showLLD, Stdout: renderLLD(listing)}
			tg := newTestTgt(t, lld, runnertest.Call{Argv: showTarget, Stdout: renderShow(listing)}, lld)
			got, err := tg.ListTargetsWithoutSessions(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := forgedSkeleton(); !reflect.DeepEqual(got, want) {
				t.Errorf("ListTargetsWithoutSessions =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// A driver listing the caller has just read serves as the first one.
func TestListTargetsWithoutSessionsAfterTheCallersDriverListing(t *testing.T) {
	lld := runnertest.Call{Argv: showLLD, Stdout: testdata(t, "show-lld.txt")}
	tg := newTestTgt(t, lld, runnertest.Call{Argv: showTarget, Stdout: testdata(t, "show-target.txt")}, lld)
	names, err := tg.ListTargetNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tg.ListTargetsWithoutSessions(ctx, names)
	if err != nil || len(got) != 2 {
		t.Fatalf("ListTargetsWithoutSessions = %+v, %v", got, err)
	}
}

// The caller's driver listing is older than a target created since: the
// disagreement with the target listing is found, and a second attempt
// reads its own driver listing.
func TestListTargetsWithoutSessionsReadsAgainAfterAStaleCallerListing(t *testing.T) {
	empty := runnertest.Call{Argv: showLLD, Stdout: testdata(t, "show-lld-empty.txt")}
	two := runnertest.Call{Argv: showLLD, Stdout: testdata(t, "show-lld.txt")}
	target := runnertest.Call{Argv: showTarget, Stdout: testdata(t, "show-target.txt")}
	tg := newTestTgt(t, empty, target, two /* disagrees: again */, two, target, two)
	names, err := tg.ListTargetNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tg.ListTargetsWithoutSessions(ctx, names)
	if err != nil || len(got) != 2 {
		t.Fatalf("ListTargetsWithoutSessions = %+v, %v", got, err)
	}
}

// A target created between the two driver listings makes the reading
// stale without sessions too: it is taken again.
func TestListTargetsWithoutSessionsReadsAgainWhenTargetsChange(t *testing.T) {
	empty := runnertest.Call{Argv: showLLD, Stdout: testdata(t, "show-lld-empty.txt")}
	two := runnertest.Call{Argv: showLLD, Stdout: testdata(t, "show-lld.txt")}
	tg := newTestTgt(t,
		empty, runnertest.Call{Argv: showTarget, Stdout: ""}, two, // changed: again
		two, runnertest.Call{Argv: showTarget, Stdout: testdata(t, "show-target.txt")}, two)
	got, err := tg.ListTargetsWithoutSessions(ctx, nil)
	if err != nil || len(got) != 2 {
		t.Fatalf("ListTargetsWithoutSessions = %+v, %v", got, err)
	}
}

// The driver listing alone names the targets: one tgtadm call.
func TestListTargetNamesIsTheDriverListing(t *testing.T) {
	tg := newTestTgt(t, runnertest.Call{Argv: showLLD, Stdout: testdata(t, "show-lld.txt")})
	got, err := tg.ListTargetNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []TargetName{{TID: 1, IQN: "iqn.2026-11.io.csi.lvm-iscsi:vol-a"}, {TID: 3, IQN: "iqn.2026-11.io.csi.lvm-iscsi:vol-b"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ListTargetNames = %+v, want %+v", got, want)
	}
}

// One target's sessions: its connection listing, then the driver listing,
// which must still give that tid the target's name (the connection listing
// names no target).
func TestTargetSessionsReadsOneTarget(t *testing.T) {
	tg := newTestTgt(t,
		runnertest.Call{Argv: showConn("3"), Stdout: testdata(t, "show-conn-sessions.txt")},
		runnertest.Call{Argv: showLLD, Stdout: testdata(t, "show-lld.txt")})
	got, err := tg.TargetSessions(ctx, 3, "iqn.2026-11.io.csi.lvm-iscsi:vol-b")
	if err != nil {
		t.Fatal(err)
	}
	want := []Session{
		{SID: 2, Initiator: "iqn.1993-08.org.debian:01:node-b", Connections: []Connection{{CID: 0, IP: "127.0.0.1"}}},
		{SID: 1, Initiator: "iqn.1993-08.org.debian:01:node-a", Connections: []Connection{{CID: 0, IP: "127.0.0.1"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("TargetSessions =\n%+v\nwant\n%+v", got, want)
	}
}

// The tid is another target's by the time the driver listing is read, or
// no target's at all: the sessions read cannot be said to be the named
// target's, which is gone. ErrNotFound, never the other target's sessions.
func TestTargetSessionsOfATargetThatWentIsNotFound(t *testing.T) {
	for name, lld := range map[string]string{
		"tid reused": "LLDs:\n    iscsi: ready\n        Target 3: iqn.2026-11.io.csi.lvm-iscsi:vol-c\n",
		"tid gone":   testdata(t, "show-lld-empty.txt"),
	} {
		t.Run(name, func(t *testing.T) {
			tg := newTestTgt(t,
				runnertest.Call{Argv: showConn("3"), Stdout: testdata(t, "show-conn-sessions.txt")},
				runnertest.Call{Argv: showLLD, Stdout: lld})
			got, err := tg.TargetSessions(ctx, 3, "iqn.2026-11.io.csi.lvm-iscsi:vol-b")
			if !errors.Is(err, ErrNotFound) || got != nil {
				t.Fatalf("TargetSessions = %+v, %v; want ErrNotFound and no session", got, err)
			}
		})
	}
}

// A tid tgtd does not have: its "can't find the target" is the answer, no
// driver listing needed.
func TestTargetSessionsOfAMissingTid(t *testing.T) {
	tg := newTestTgt(t, recordedFailure(t, "target-not-found", showConn("3")))
	if _, err := tg.TargetSessions(ctx, 3, "iqn.2026-11.io.csi.lvm-iscsi:vol-b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("TargetSessions = %v, want ErrNotFound", err)
	}
}
