package tgt

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Fuzz targets for every parser of tgtadm output (run by "make fuzz"). The
// seeds are the recorded outputs in testdata/ and the forged listings of
// parse_forged_test.go.

func seedFiles(f *testing.F, pattern string) [][]byte {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seed files %s: %v", pattern, err)
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func lineSet(out []byte) map[string]int {
	set := map[string]int{}
	for _, l := range splitLines(out) {
		set[l]++
	}
	return set
}

// FuzzParseTargets checks that whatever the target listing holds, a target
// comes only from a header the driver listing names, at column 0, there
// exactly once; and that every LUN, account and ACL entry is a line of the
// listing.
func FuzzParseTargets(f *testing.F) {
	for _, show := range seedFiles(f, "show-target*.txt") {
		for _, lld := range seedFiles(f, "show-lld*.txt") {
			f.Add(show, lld)
		}
	}
	for _, alias := range forgedAliases {
		listing := forgedListing(alias)
		f.Add([]byte(renderShow(listing)), []byte(renderLLD(listing)))
	}
	f.Fuzz(func(t *testing.T, show, lld []byte) {
		names, err := ParseTargetNames(lld)
		if err != nil {
			return
		}
		targets, busy, err := parseTargets(show, names)
		if err != nil {
			return
		}
		if len(targets) != len(names) || len(busy) != len(targets) {
			t.Fatalf("%d targets and %d busy flags for %d names", len(targets), len(busy), len(names))
		}
		lines := lineSet(show)
		tids, iqns := map[int]bool{}, map[string]bool{}
		for i, tg := range targets {
			if !slices.Contains(names, TargetName{tg.TID, tg.IQN}) {
				t.Fatalf("target %d %q is not one the driver listing names", tg.TID, tg.IQN)
			}
			if n := lines["Target "+strconv.Itoa(tg.TID)+": "+tg.IQN]; n != 1 {
				t.Fatalf("target %d %q: its header is a line %d times", tg.TID, tg.IQN, n)
			}
			if tids[tg.TID] || iqns[tg.IQN] {
				t.Fatalf("target %d %q parsed twice", tg.TID, tg.IQN)
			}
			tids[tg.TID], iqns[tg.IQN] = true, true
			if tg.Sessions != nil {
				t.Fatalf("target %d: sessions read from the target listing", tg.TID)
			}
			if busy[i] && !strings.Contains(string(show), nexusPrefix) {
				t.Fatalf("target %d has sessions but no nexus line", tg.TID)
			}
			for _, l := range tg.LUNs {
				if l.Number == 0 || lines["        LUN: "+strconv.Itoa(l.Number)] == 0 {
					t.Fatalf("target %d: LUN %d is not a line", tg.TID, l.Number)
				}
			}
			for _, entry := range slices.Concat(tg.ACLs, tg.InitiatorNames, tg.Accounts) {
				if !hasLinePrefix(lines, "        "+entry) {
					t.Fatalf("target %d: entry %q is not a line", tg.TID, entry)
				}
			}
		}
	})
}

// hasLinePrefix: some line is text, possibly with trailing blanks.
func hasLinePrefix(lines map[string]int, text string) bool {
	for l := range lines {
		if strings.TrimRight(l, " \t\r") == text {
			return true
		}
	}
	return false
}

// FuzzParseTargetsAlias renders the listing tgtd prints when an initiator
// logs in with an arbitrary name and alias, and checks that the parse is
// the true one, or an error only when that text repeats a real header.
func FuzzParseTargetsAlias(f *testing.F) {
	for _, alias := range forgedAliases {
		f.Add(forgedAttacker, alias, uint16(1), uint16(0))
	}
	f.Add("iqn.x\nTarget 2: "+forgedIQNV, "none", uint16(7), uint16(3))
	f.Add(forgedAttacker, "x\nTarget 1: "+forgedIQNA, uint16(1), uint16(0))
	f.Fuzz(func(t *testing.T, initiator, alias string, sid, cid uint16) {
		if strings.ContainsRune(initiator, 0) || strings.ContainsRune(alias, 0) {
			return // iSCSI text values end at NUL
		}
		listing := forgedListing(alias)
		listing[0].Sessions[0].Initiator = initiator
		listing[0].Sessions[0].SID, listing[0].Sessions[0].CID = int(sid), int(cid)
		names, err := ParseTargetNames([]byte(renderLLD(listing)))
		if err != nil {
			t.Fatal(err)
		}
		got, busy, err := parseTargets([]byte(renderShow(listing)), names)
		if err != nil {
			text := nexusInfo(listing[0].Sessions[0])
			copied := false
			for _, n := range names {
				copied = copied || slices.Contains(strings.Split(text, "\n"), headerText(n))
			}
			if !copied || !strings.Contains(err.Error(), "more than once") {
				t.Fatalf("ParseTargets: %v", err)
			}
			return
		}
		if want := forgedSkeleton(); !reflect.DeepEqual(got, want) || !reflect.DeepEqual(busy, []bool{true, true}) {
			t.Fatalf("ParseTargets =\n%+v %v\nwant\n%+v", got, busy, want)
		}
		sessions, err := ParseConnections([]byte(renderConn(listing[0].Sessions)))
		if err != nil {
			t.Fatalf("ParseConnections: %v", err)
		}
		found := false
		for _, s := range sessions {
			for _, c := range s.Connections {
				found = found || (s.SID == int(sid) && c.CID == int(cid))
			}
		}
		if !found {
			t.Fatalf("ParseConnections = %+v lost session %d connection %d", sessions, sid, cid)
		}
		if !strings.Contains(initiator, "\n") && (len(sessions) != 1 || sessions[0].Initiator != initiator) {
			t.Fatalf("ParseConnections = %+v, want the initiator %q exactly", sessions, initiator)
		}
	})
}

// FuzzParseTargetNames checks that every name comes from a "Target N:" line
// at the driver level of the listing.
func FuzzParseTargetNames(f *testing.F) {
	for _, lld := range seedFiles(f, "show-lld*.txt") {
		f.Add(lld)
	}
	f.Fuzz(func(t *testing.T, lld []byte) {
		names, err := ParseTargetNames(lld)
		if err != nil {
			return
		}
		lines := lineSet(lld)
		if err := checkNames(names); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if n.TID < 1 || !hasLinePrefix(lines, "        "+headerText(n)) {
				t.Fatalf("name %+v is not a line", n)
			}
		}
	})
}

// FuzzParseConnections checks that every session and connection number
// comes from a "Session:" line followed by a "Connection:" and an
// "Initiator:" line, and that no connection is listed twice.
func FuzzParseConnections(f *testing.F) {
	for _, out := range seedFiles(f, "show-conn*.txt") {
		f.Add(out)
	}
	f.Add([]byte(renderConn([]renderedSession{{SID: 3, CID: 1, Initiator: "a\nSession: 3\n    Connection: 1\n        Initiator: b", IP: "127.0.0.1"}})))
	f.Fuzz(func(t *testing.T, out []byte) {
		sessions, err := ParseConnections(out)
		if err != nil {
			return
		}
		lines := splitLines(out)
		sids := map[int]bool{}
		for _, s := range sessions {
			if sids[s.SID] {
				t.Fatalf("session %d listed twice", s.SID)
			}
			sids[s.SID] = true
			cids := map[int]bool{}
			for _, c := range s.Connections {
				if cids[c.CID] {
					t.Fatalf("session %d: connection %d listed twice", s.SID, c.CID)
				}
				cids[c.CID] = true
				head := false
				for i := 0; i+2 < len(lines); i++ {
					head = head || (lines[i] == connSessionPrefix+strconv.Itoa(s.SID) &&
						lines[i+1] == connConnPrefix+strconv.Itoa(c.CID) && strings.HasPrefix(lines[i+2], connInitiatorPrefix))
				}
				if !head {
					t.Fatalf("session %d connection %d has no head lines", s.SID, c.CID)
				}
			}
		}
	})
}

// FuzzParseAccounts checks that every account is a line indented by one
// level.
func FuzzParseAccounts(f *testing.F) {
	for _, out := range seedFiles(f, "show-account*.txt") {
		f.Add(out)
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		lines := lineSet(out)
		for _, u := range ParseAccounts(out) {
			if u == "" || strings.HasPrefix(u, " ") || !hasLinePrefix(lines, "    "+u) {
				t.Fatalf("account %q is not a line", u)
			}
		}
	})
}
