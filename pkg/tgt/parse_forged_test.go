package tgt

import (
	"reflect"
	"strings"
	"testing"
)

// The scenario of the forged-listing tests: the attacker's node is allowed
// on volume A only; volume V belongs to another tenant.
const (
	forgedIQNA     = "iqn.2026-11.io.csi.lvm-iscsi:csi-aaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	forgedIQNV     = "iqn.2026-11.io.csi.lvm-iscsi:csi-vvvvvvvvvvvvvvvvvvvvvvvvvvvv"
	forgedAttacker = "iqn.1993-08.org.debian:01:attacker"
	forgedVictim   = "iqn.1993-08.org.debian:01:victim"
)

func forgedSkeleton() []Target {
	return []Target{
		{
			TID: 1, IQN: forgedIQNA, State: "ready",
			LUNs: []LUN{{Number: 1, Size: 64_000_000, BlockSize: 512, Type: "disk",
				SCSIID: "csi-aaaaaaaaaaaaaaaaaaaaaaaaaaaa", SCSISN: "csi-aaaaaaaaaaaaaaaaaaaaaaaaaaaa", Online: true,
				BackingStore: "/dev/vg0/csi-aaaaaaaaaaaaaaaaaaaaaaaaaaaa", BackingStoreType: "rdwr"}},
			InitiatorNames: []string{forgedAttacker},
			Accounts:       []string{"csi-aaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		},
		{
			TID: 2, IQN: forgedIQNV, State: "ready",
			LUNs: []LUN{{Number: 1, Size: 64_000_000, BlockSize: 512, Type: "disk",
				SCSIID: "csi-vvvvvvvvvvvvvvvvvvvvvvvvvvvv", SCSISN: "csi-vvvvvvvvvvvvvvvvvvvvvvvvvvvv", Online: true,
				BackingStore: "/dev/vg0/csi-vvvvvvvvvvvvvvvvvvvvvvvvvvvv", BackingStoreType: "rdwr"}},
			InitiatorNames: []string{forgedVictim},
			Accounts:       []string{"csi-vvvvvvvvvvvvvvvvvvvvvvvvvvvv"},
		},
	}
}

// forgedListing is what tgtd prints when the attacker is logged in to A
// with alias, and the victim to V with no alias.
func forgedListing(alias string) []renderedTarget {
	sk := forgedSkeleton()
	return []renderedTarget{
		{Target: sk[0], Sessions: []renderedSession{{SID: 1, CID: 0, Initiator: forgedAttacker, Alias: alias, IP: "192.0.2.66"}}},
		{Target: sk[1], Sessions: []renderedSession{{SID: 2, CID: 0, Initiator: forgedVictim, IP: "192.0.2.7"}}},
	}
}

// withoutSessions drops what the target listing says about sessions, which
// these tests do not look at: the skeleton is what must not move.
func withoutSessions(targets []Target) []Target {
	out := make([]Target, len(targets))
	for i, t := range targets {
		t.Sessions = nil
		out[i] = t
	}
	return out
}

// forgedAliases are InitiatorAlias values an initiator can send at login
// (any bytes but NUL); tgtd prints them verbatim in the target listing.
var forgedAliases = map[string]string{
	// The exploit: a second "Target 1" header naming the victim's IQN
	// takes over A's LUN, account and ACL lines, so that syncing V would
	// swap A's LUN (tid 1, the attacker's session) to V's LV.
	"header reusing the attacker's tid": "x\nTarget 1: " + forgedIQNV + "\n    Account information:",
	// A whole fake target with a fresh tid and a LUN backed by V's LV.
	"fake target block": "x\nTarget 9: " + forgedIQNV + "\n    System information:\n        Driver: iscsi\n        State: ready\n" +
		"    I_T nexus information:\n    LUN information:\n        LUN: 1\n            Type: disk\n" +
		"            Backing store path: /dev/vg0/csi-vvvvvvvvvvvvvvvvvvvvvvvvvvvv\n    Account information:\n    ACL information:\n        " + forgedAttacker,
	// Lines that look like A's own LUN section, pointing at V's LV.
	"alias that looks like a LUN": "x\n    LUN information:\n        LUN: 1\n            Type: disk\n            SCSI SN: csi-vvvvvvvvvvvvvvvvvvvvvvvvvvvv\n" +
		"            Backing store path: /dev/vg0/csi-vvvvvvvvvvvvvvvvvvvvvvvvvvvv",
	"alias that looks like a backing store line": "            Backing store path: /dev/vg0/csi-vvvvvvvvvvvvvvvvvvvvvvvvvvvv",
	"alias that looks like an ACL":               "x\n    ACL information:\n        ALL",
	// Harmless text an initiator may well send: it must not break the
	// listing (the old parser failed on every line break).
	"plain alias with a line break": "worker-1\nrack 7",
	"alias with a tab and CR":       "a\tb\r\nc",
	// Longer than tgt's 1024-byte session info: the tail is cut and the
	// next line ("    LUN information:") is glued to the alias.
	"alias cut by tgt's buffer": "x" + strings.Repeat("y", 1200),
	"cut alias with a fake LUN section": "x\n    LUN information:\n        LUN: 1\n            Backing store path: /dev/vg0/csi-vvvvvvvvvvvvvvvvvvvvvvvvvvvv\n" +
		strings.Repeat("z", 1100),
}

func TestParseTargetsIgnoresWhatAnAliasForges(t *testing.T) {
	for name, alias := range forgedAliases {
		t.Run(name, func(t *testing.T) {
			listing := forgedListing(alias)
			got, err := parseShowAndLLD(renderShow(listing), renderLLD(listing))
			if err != nil {
				t.Fatalf("ParseTargets: %v", err)
			}
			if want := forgedSkeleton(); !reflect.DeepEqual(withoutSessions(got), want) {
				t.Errorf("ParseTargets =\n%+v\nwant\n%+v", withoutSessions(got), want)
			}
		})
	}
}

// An alias that repeats a real header exactly cannot be told from the real
// one: the listing is refused, never guessed.
func TestParseTargetsRefusesAForgedCopyOfARealHeader(t *testing.T) {
	for name, alias := range map[string]string{
		"copy of the next target's header":     "x\nTarget 2: " + forgedIQNV,
		"copy of its own target's header":      "x\nTarget 1: " + forgedIQNA,
		"copy with a whole block after it":     "x\nTarget 2: " + forgedIQNV + "\n    System information:\n    I_T nexus information:\n    LUN information:",
		"copy after a cut-looking LUN section": "x\n    LUN information:\nTarget 2: " + forgedIQNV,
	} {
		t.Run(name, func(t *testing.T) {
			listing := forgedListing(alias)
			got, err := parseShowAndLLD(renderShow(listing), renderLLD(listing))
			if err == nil {
				t.Fatalf("ParseTargets = %+v, want an error", withoutSessions(got))
			}
			if !strings.Contains(err.Error(), "more than once") {
				t.Errorf("err = %v, want one that says a header is there more than once", err)
			}
		})
	}
}

func TestParseTargetsRefusesDuplicates(t *testing.T) {
	sk := forgedSkeleton()
	dupTID := sk[1]
	dupTID.TID = 1
	dupIQN := sk[1]
	dupIQN.IQN = forgedIQNA
	for name, targets := range map[string][]Target{
		"duplicate tid": {sk[0], dupTID},
		"duplicate IQN": {sk[0], dupIQN},
	} {
		t.Run(name, func(t *testing.T) {
			var listing []renderedTarget
			for _, target := range targets {
				listing = append(listing, renderedTarget{Target: target})
			}
			got, err := parseShowAndLLD(renderShow(listing), renderLLD(listing))
			if err == nil {
				t.Fatalf("ParseTargets = %+v, want an error", got)
			}
		})
	}
}

func parseShowAndLLD(show, lld string) ([]Target, error) {
	names, err := ParseTargetNames([]byte(lld))
	if err != nil {
		return nil, err
	}
	return ParseTargets([]byte(show), names)
}

// The renderer the forged-listing tests build their listings with prints
// what the real tgtd printed when testdata/record.sh ran.
func TestRenderMatchesRecordedOutput(t *testing.T) {
	volB := recordedVolB(true)
	volB.ACLs = []string{"127.0.0.1"}
	sessions := []renderedSession{
		{SID: 1, CID: 0, Initiator: "iqn.1993-08.org.debian:01:node-a", IP: "127.0.0.1"},
		{SID: 2, CID: 0, Initiator: "iqn.1993-08.org.debian:01:node-b", IP: "127.0.0.1"},
	}
	listing := []renderedTarget{{Target: recordedVolA, Outgoing: "vol-a-out"}, {Target: volB, Sessions: sessions}}
	for _, c := range []struct{ file, got string }{
		{"show-target-sessions.txt", renderShow(listing)},
		{"show-lld.txt", renderLLD(listing)},
		// tgt lists a target's newest session first.
		{"show-conn-sessions.txt", renderConn([]renderedSession{sessions[1], sessions[0]})},
	} {
		if want := testdata(t, c.file); c.got != want {
			t.Errorf("rendered %s:\n%s\nrecorded:\n%s", c.file, c.got, want)
		}
	}
}
