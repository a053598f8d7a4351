package iscsi

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

// sessionListing is iscsiadm -m session's listing of logged-in sessions in
// the format open-iscsi documents ("tcp: [SID] PORTAL,TPGT IQN
// (non-flash)"). It is not recorded: no session can be opened on the
// project machines, whose kernel has no iSCSI support.
const sessionListing = `tcp: [1] 10.0.0.5:3260,1 iqn.2026-11.io.csi.lvm-iscsi:vol-a (non-flash)
tcp: [12] [fd00::5]:3260,1 iqn.2026-11.io.csi.lvm-iscsi:vol-b (non-flash)
`

func TestSessions(t *testing.T) {
	none := recorded(t, "session_none")
	a := newTestIscsiadm(t, runnertest.Call{Argv: none.Argv, Stdout: sessionListing})
	got, err := a.Sessions(context.Background())
	if err != nil {
		t.Fatalf("Sessions: %v", err)
	}
	want := []Session{
		{ID: 1, Portal: "10.0.0.5:3260", IQN: "iqn.2026-11.io.csi.lvm-iscsi:vol-a"},
		{ID: 12, Portal: "[fd00::5]:3260", IQN: "iqn.2026-11.io.csi.lvm-iscsi:vol-b"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Sessions = %+v, want %+v", got, want)
	}
}

func TestSessionsNoneIsEmptyList(t *testing.T) {
	a := newTestIscsiadm(t, recorded(t, "session_none"))
	got, err := a.Sessions(context.Background())
	if err != nil {
		t.Fatalf("Sessions: %v", err)
	}
	if got == nil || len(got) != 0 {
		t.Fatalf("Sessions = %#v, want an empty non-nil list", got)
	}
}

func TestSessionsFailure(t *testing.T) {
	none := recorded(t, "session_none")
	a := newTestIscsiadm(t, withOutcome(none, recorded(t, "login_no_iscsid")))
	if _, err := a.Sessions(context.Background()); !errors.Is(err, ErrDaemonUnavailable) {
		t.Fatalf("Sessions error %v, want ErrDaemonUnavailable", err)
	}
}

func TestParseSessionsRefusesUnknownLines(t *testing.T) {
	for _, line := range []string{
		"iscsiadm: something new",
		"tcp: 1 10.0.0.5:3260,1 iqn.2026-11.io.csi.lvm-iscsi:vol-a (non-flash)",
		"tcp: [x] 10.0.0.5:3260,1 iqn.2026-11.io.csi.lvm-iscsi:vol-a (non-flash)",
		"tcp: [1] 10.0.0.5:3260 iqn.2026-11.io.csi.lvm-iscsi:vol-a (non-flash)",
		"tcp: [1] 10.0.0.5:3260,1",
	} {
		if got, err := parseSessions(line + "\n"); err == nil {
			t.Errorf("parseSessions(%q) = %+v, want an error", line, got)
		}
	}
}

func TestRescan(t *testing.T) {
	missing := recorded(t, "rescan_missing")
	a := newTestIscsiadm(t, succeeded(missing))
	if err := a.Rescan(context.Background(), 1); err != nil {
		t.Fatalf("Rescan: %v", err)
	}
}

func TestRescanOfGoneSessionIsNotFound(t *testing.T) {
	a := newTestIscsiadm(t, recorded(t, "rescan_missing"))
	if err := a.Rescan(context.Background(), 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Rescan error %v, want ErrNotFound", err)
	}
}

func TestRescanRefusesBadSessionID(t *testing.T) {
	a := newTestIscsiadm(t)
	if err := a.Rescan(context.Background(), 0); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Rescan(0): %v, want ErrInvalidArgument", err)
	}
}
