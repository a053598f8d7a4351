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

// recordedNames is what testdata/show-lld.txt names.
func recordedNames(t *testing.T) []TargetName {
	t.Helper()
	names, err := ParseTargetNames([]byte(testdata(t, "show-lld.txt")))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestParseTargetNamesRecorded(t *testing.T) {
	want := []TargetName{{1, "iqn.2026-11.io.csi.lvm-iscsi:vol-a"}, {3, "iqn.2026-11.io.csi.lvm-iscsi:vol-b"}}
	if got := recordedNames(t); !reflect.DeepEqual(got, want) {
		t.Errorf("ParseTargetNames = %+v, want %+v", got, want)
	}
	if got, err := ParseTargetNames([]byte(testdata(t, "show-lld-empty.txt"))); err != nil || len(got) != 0 {
		t.Errorf("ParseTargetNames(no target) = %+v, %v", got, err)
	}
}

func TestParseTargetNamesRejects(t *testing.T) {
	for name, out := range map[string]string{
		"duplicate tid":     "LLDs:\n    iscsi: ready\n        Target 1: iqn.x:a\n        Target 1: iqn.x:b\n",
		"duplicate name":    "LLDs:\n    iscsi: ready\n        Target 1: iqn.x:a\n        Target 2: iqn.x:a\n",
		"no header":         "    iscsi: ready\n        Target 1: iqn.x:a\n",
		"second header":     "LLDs:\nLLDs:\n",
		"bad tid":           "LLDs:\n    iscsi: ready\n        Target 01: iqn.x:a\n",
		"tid 0":             "LLDs:\n    iscsi: ready\n        Target 0: iqn.x:a\n",
		"not a target":      "LLDs:\n    iscsi: ready\n        Targets: none\n",
		"odd indentation":   "LLDs:\n  iscsi: ready\n",
		"too deep":          "LLDs:\n    iscsi: ready\n            Target 1: iqn.x:a\n",
		"empty target name": "LLDs:\n    iscsi: ready\n        Target 1: \n",
	} {
		if got, err := ParseTargetNames([]byte(out)); err == nil {
			t.Errorf("%s: ParseTargetNames = %+v, want an error", name, got)
		}
	}
}

func TestParseTargetsRecorded(t *testing.T) {
	got, busy, err := parseTargets([]byte(testdata(t, "show-target.txt")), recordedNames(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{recordedVolA, recordedVolB(false)}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(busy, []bool{false, false}) {
		t.Errorf("ParseTargets =\n%+v %v\nwant\n%+v, no sessions", got, busy, want)
	}
}

func TestParseTargetsRecordedSessions(t *testing.T) {
	got, busy, err := parseTargets([]byte(testdata(t, "show-target-sessions.txt")), recordedNames(t))
	if err != nil {
		t.Fatal(err)
	}
	volB := recordedVolB(true)
	volB.ACLs = []string{"127.0.0.1"}
	want := []Target{recordedVolA, volB}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(busy, []bool{false, true}) {
		t.Errorf("ParseTargets =\n%+v %v\nwant\n%+v, sessions on vol-b only", got, busy, want)
	}
}

func TestParseConnectionsRecorded(t *testing.T) {
	got, err := ParseConnections([]byte(testdata(t, "show-conn-sessions.txt")))
	if err != nil {
		t.Fatal(err)
	}
	want := []Session{
		{SID: 2, Initiator: "iqn.1993-08.org.debian:01:node-b", Connections: []Connection{{CID: 0, IP: "127.0.0.1"}}},
		{SID: 1, Initiator: "iqn.1993-08.org.debian:01:node-a", Connections: []Connection{{CID: 0, IP: "127.0.0.1"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseConnections =\n%+v\nwant\n%+v", got, want)
	}
	if got, err := ParseConnections([]byte(testdata(t, "show-conn-empty.txt"))); err != nil || len(got) != 0 {
		t.Errorf("ParseConnections(none) = %+v, %v", got, err)
	}
}

// A session with two connections is listed once per connection.
func TestParseConnectionsGroupsASessionsConnections(t *testing.T) {
	out := renderConn([]renderedSession{
		{SID: 4, CID: 0, Initiator: "iqn.1993-08.org.debian:01:node-a", IP: "192.0.2.1", ExtraConnection: []int{1}},
		{SID: 5, CID: 3, Initiator: "iqn.1993-08.org.debian:01:node-b", IP: "fe80::1"},
	})
	got, err := ParseConnections([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []Session{
		{SID: 4, Initiator: "iqn.1993-08.org.debian:01:node-a", Connections: []Connection{{CID: 0, IP: "192.0.2.1"}, {CID: 1, IP: "192.0.2.1"}}},
		{SID: 5, Initiator: "iqn.1993-08.org.debian:01:node-b", Connections: []Connection{{CID: 3, IP: "fe80::1"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseConnections =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseTargetsEmpty(t *testing.T) {
	got, err := ParseTargets([]byte(testdata(t, "show-target-empty.txt")), nil)
	if err != nil || len(got) != 0 {
		t.Errorf("ParseTargets(empty) = %+v, %v", got, err)
	}
}

// TestParseTargetsToleratesAdditions covers lines tgt prints only sometimes
// (nop settings, a session) and sections a newer tgt might add.
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
		"    Later section:",
		"        Anything: at all",
		"",
	}, "\n")
	got, busy, err := parseTargets([]byte(out), []TargetName{{12, "iqn.2026-11.example:a:b"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{{
		TID: 12, IQN: "iqn.2026-11.example:a:b", State: "offline",
		LUNs: []LUN{{Number: 3, Type: "disk"}},
		ACLs: []string{"[fd00::1]/64", "192.168.0.9"},
	}}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(busy, []bool{true}) {
		t.Errorf("ParseTargets =\n%+v %v\nwant\n%+v with sessions", got, busy, want)
	}
}

func TestParseTargetsRejectsBrokenStructure(t *testing.T) {
	x := []TargetName{{1, "iqn.x"}}
	head := "Target 1: iqn.x\n    System information:\n    I_T nexus information:\n"
	for name, out := range map[string]string{
		"indented first line":    "    System information:\n" + head + "    LUN information:\n",
		"text before the header": "hello\n" + head + "    LUN information:\n",
		"header missing":         "Target 2: iqn.x\n    I_T nexus information:\n    LUN information:\n",
		"odd indentation":        "Target 1: iqn.x\n  System information:\n    I_T nexus information:\n    LUN information:\n",
		"tab indentation":        head + "    LUN information:\n\tACL information:\n",
		"no nexus section":       "Target 1: iqn.x\n    LUN information:\n",
		"no LUN section":         head + "    ACL information:\n",
		"lun detail without lun": head + "    LUN information:\n            Type: disk\n",
		"bad lun number":         head + "    LUN information:\n        LUN: x\n",
		"bad size":               head + "    LUN information:\n        LUN: 1\n            Size: 12 GB, Block size: 512\n",
		"huge size":              head + "    LUN information:\n        LUN: 1\n            Size: 99999999999999999 MB, Block size: 512\n",
		"column-0 line in tail":  head + "    LUN information:\nTarget 9: iqn.y\n    ACL information:\n",
		"sessions without nexus": head + "            Initiator: iqn.a alias: none\n    LUN information:\n",
		"bad nexus id":           head + "        I_T nexus: ?\n    LUN information:\n",
		"glued without sessions": head + "junk    LUN information:\n",
	} {
		if got, err := ParseTargets([]byte(out), x); err == nil {
			t.Errorf("%s: ParseTargets = %+v, want an error", name, got)
		}
	}
	if got, err := ParseTargets([]byte("Target 1: iqn.x\n"), nil); err == nil {
		t.Errorf("text with no target listed: ParseTargets = %+v, want an error", got)
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
