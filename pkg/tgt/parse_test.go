package tgt

import (
	"reflect"
	"strings"
	"testing"
)

// recordedVolA is target 1 as testdata/record.sh configured it.
var recordedVolA = Target{
	TID:   1,
	IQN:   "iqn.2026-11.io.csi.lvm-iscsi:vol-a",
	State: "ready",
	LUNs: []LUN{{
		Number: 1, Size: 67_000_000, BlockSize: 512, Type: "disk",
		SCSIID: "vol-a", SCSISN: "vol-a", Online: true, ThinProvisioning: true,
		BackingStore: "/tmp/lvm-iscsi-csi-tgt-record/vol-a.img", BackingStoreType: "rdwr",
	}},
	ACLs:           []string{"10.0.0.0/8", "ALL"},
	InitiatorNames: []string{"iqn.1993-08.org.debian:01:node-a", "iqn.1993-08.org.debian:01:node-b"},
	// vol-a-out is bound as the outgoing account: not an incoming one.
	Accounts: []string{"vol-a-in", "vol-a-in2"},
}

func recordedVolB(online bool) Target {
	return Target{
		TID:   3,
		IQN:   "iqn.2026-11.io.csi.lvm-iscsi:vol-b",
		State: "ready",
		LUNs: []LUN{{
			Number: 1, Size: 10_000_000, BlockSize: 512, Type: "disk",
			// tgt's defaults, derived from tid 3 and LUN 1.
			SCSIID: "IET     00030001", SCSISN: "beaf31", Online: online,
			BackingStore: "/tmp/lvm-iscsi-csi-tgt-record/vol-b.img", BackingStoreType: "rdwr",
		}},
	}
}

func TestParseTargetsRecorded(t *testing.T) {
	got, err := ParseTargets([]byte(testdata(t, "show-target.txt")))
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{recordedVolA, recordedVolB(false)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseTargets =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseTargetsRecordedSessions(t *testing.T) {
	got, err := ParseTargets([]byte(testdata(t, "show-target-sessions.txt")))
	if err != nil {
		t.Fatal(err)
	}
	volB := recordedVolB(true)
	volB.ACLs = []string{"127.0.0.1"}
	volB.Sessions = []Session{
		{SID: 1, Initiator: "iqn.1993-08.org.debian:01:node-a", Connections: []Connection{{CID: 0, IP: "127.0.0.1"}}},
		{SID: 2, Initiator: "iqn.1993-08.org.debian:01:node-b", Connections: []Connection{{CID: 0, IP: "127.0.0.1"}}},
	}
	want := []Target{recordedVolA, volB}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseTargets =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseTargetsEmpty(t *testing.T) {
	got, err := ParseTargets([]byte(testdata(t, "show-target-empty.txt")))
	if err != nil || len(got) != 0 {
		t.Errorf("ParseTargets(empty) = %+v, %v", got, err)
	}
}

// TestParseTargetsToleratesAdditions covers lines tgt prints only sometimes
// (nop settings, an initiator alias, an IPv6 peer) and sections a newer tgt
// might add.
func TestParseTargetsToleratesAdditions(t *testing.T) {
	out := strings.Join([]string{
		"Target 12: iqn.2026-11.example:a:b",
		"    System information:",
		"        Driver: iscsi",
		"        State: offline",
		"        Nop interval: 5",
		"    Future section:",
		"        Something: else",
		"            Deeper: still",
		"    I_T nexus information:",
		"        I_T nexus: 7",
		"            Initiator: iqn.2004-10.com.ubuntu:01:abc alias: worker-1",
		"            Connection: 1",
		"                IP Address: fe80::1",
		"    LUN information:",
		"        LUN: 3",
		"            Type: disk",
		"            New attribute: 42",
		"            Backing store path: None",
		"    Account information:",
		"    ACL information:",
		"        [fd00::1]/64",
		"        192.168.0.9",
		"",
	}, "\n")
	got, err := ParseTargets([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{{
		TID: 12, IQN: "iqn.2026-11.example:a:b", State: "offline",
		LUNs: []LUN{{Number: 3, Type: "disk"}},
		ACLs: []string{"[fd00::1]/64", "192.168.0.9"},
		Sessions: []Session{{SID: 7, Initiator: "iqn.2004-10.com.ubuntu:01:abc", Alias: "worker-1",
			Connections: []Connection{{CID: 1, IP: "fe80::1"}}}},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseTargets =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseTargetsRejectsBrokenStructure(t *testing.T) {
	for name, out := range map[string]string{
		"indented first line":    "    System information:\n",
		"odd indentation":        "Target 1: iqn.x\n  System information:\n",
		"tab indentation":        "Target 1: iqn.x\n\tSystem information:\n",
		"bad target line":        "Targets: none\n",
		"non-numeric tid":        "Target one: iqn.x\n",
		"lun detail without lun": "Target 1: iqn.x\n    LUN information:\n            Type: disk\n",
		"bad lun number":         "Target 1: iqn.x\n    LUN information:\n        LUN: x\n",
		"bad size":               "Target 1: iqn.x\n    LUN information:\n        LUN: 1\n            Size: 12 GB, Block size: 512\n",
		"bad nexus id":           "Target 1: iqn.x\n    I_T nexus information:\n        I_T nexus: ?\n",
		"address without conn":   "Target 1: iqn.x\n    I_T nexus information:\n        I_T nexus: 1\n                IP Address: 10.0.0.1\n",
		"session detail first":   "Target 1: iqn.x\n    I_T nexus information:\n            Connection: 0\n",
	} {
		if got, err := ParseTargets([]byte(out)); err == nil {
			t.Errorf("%s: ParseTargets = %+v, want an error", name, got)
		}
	}
}

func TestParseAccountsRecorded(t *testing.T) {
	got := ParseAccounts([]byte(testdata(t, "show-account.txt")))
	want := []string{"vol-a-out", "vol-a-in2", "vol-a-in"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseAccounts = %q, want %q", got, want)
	}
	if got := ParseAccounts([]byte(testdata(t, "show-account-empty.txt"))); len(got) != 0 {
		t.Errorf("ParseAccounts(empty) = %q", got)
	}
}

func TestIsAddressACL(t *testing.T) {
	for entry, want := range map[string]bool{
		"ALL":                              true,
		"10.0.0.0/8":                       true,
		"192.168.1.7":                      true,
		"[::1]":                            true,
		"[fd00::]/8":                       true,
		"fd00::1":                          true,
		"iqn.1993-08.org.debian:01:node-a": false,
		"eui.02004567A425678D":             false,
		"all":                              false,
		"10.0.0.0/x":                       false,
		"[::1]x":                           false,
		"[::1":                             false,
	} {
		if got := isAddressACL(entry); got != want {
			t.Errorf("isAddressACL(%q) = %v, want %v", entry, got, want)
		}
	}
}
