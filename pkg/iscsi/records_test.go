package iscsi

import (
	"context"
	"reflect"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

// recordListing is iscsiadm -m node's listing in open-iscsi's format
// ("PORTAL,TPGT IQN").
const recordListing = `127.0.0.1:3260,1 iqn.2026-11.io.csi.lvm-iscsi:csi-0123456789abcdef0123456789ab
[fd00::5]:3260,1 iqn.2001-04.com.example:other
`

func TestRecords(t *testing.T) {
	a := newTestIscsiadm(t, runnertest.Call{Argv: []string{"iscsiadm", "-m", "node"}, Stdout: recordListing})
	got, err := a.Records(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{
		{Portal: "127.0.0.1:3260", IQN: "iqn.2026-11.io.csi.lvm-iscsi:csi-0123456789abcdef0123456789ab"},
		{Portal: "[fd00::5]:3260", IQN: "iqn.2001-04.com.example:other"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Records = %+v, want %+v", got, want)
	}
}

// Recorded on this machine: iscsiadm -m node with no records, exit 21.
func TestRecordsNoneIsEmptyList(t *testing.T) {
	a := newTestIscsiadm(t, runnertest.Call{Argv: []string{"iscsiadm", "-m", "node"}, Stderr: "iscsiadm: No records found\n", ExitCode: 21})
	got, err := a.Records(context.Background())
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Records = %v, %v; want an empty list", got, err)
	}
}

func TestRecordsRefusesUnknownLines(t *testing.T) {
	for _, out := range []string{"garbage\n", "10.0.0.5:3260 iqn.x\n", "10.0.0.5:3260,1 iqn.x extra\n"} {
		if got, err := parseRecords(out); err == nil {
			t.Errorf("parseRecords(%q) = %v, want an error", out, got)
		}
	}
}

func TestRecordsFailure(t *testing.T) {
	a := newTestIscsiadm(t, runnertest.Call{Argv: []string{"iscsiadm", "-m", "node"}, Stderr: "iscsiadm: can not connect to iSCSI daemon (111)!\n", ExitCode: 20})
	if _, err := a.Records(context.Background()); err == nil {
		t.Fatal("Records succeeded on a failing iscsiadm")
	}
}
