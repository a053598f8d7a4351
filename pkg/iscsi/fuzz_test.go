package iscsi

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// Fuzz targets for what the node plugin parses (run by "make fuzz"): the
// output of iscsiadm -m session, the unit serial number page a target
// serves (a target's text, compared with the volume id before anything is
// mounted) and the initiator name file. They check that nothing panics and
// that no session, serial or name is made up.

func FuzzParseSessions(f *testing.F) {
	f.Add(sessionListing)
	none, err := os.ReadFile(filepath.Join("testdata", "recorded", "session_none.stdout"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(none))
	f.Add("tcp: [3] 10.0.0.5:3260,1 iqn.a:b (non-flash)\n\niser: [4] [::1]:3260,2 iqn.c\n")
	f.Fuzz(func(t *testing.T, out string) {
		sessions, err := parseSessions(out)
		if err != nil {
			return
		}
		var lines []string
		for _, l := range strings.Split(out, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		if len(sessions) != len(lines) {
			t.Fatalf("%d sessions from %d lines", len(sessions), len(lines))
		}
		for i, s := range sessions {
			fields := strings.Fields(lines[i])
			if s.ID < 0 || fields[1] != "["+strconv.Itoa(s.ID)+"]" {
				t.Fatalf("session %+v from line %q", s, lines[i])
			}
			if s.Portal == "" || s.IQN != fields[3] || !strings.HasPrefix(fields[2], s.Portal+",") {
				t.Fatalf("session %+v from line %q", s, lines[i])
			}
			if strings.IndexFunc(s.Portal+s.IQN, unicode.IsSpace) >= 0 {
				t.Fatalf("session %+v has blanks", s)
			}
		}
	})
}

func FuzzParseUnitSerialPage(f *testing.F) {
	out, err := os.ReadFile(filepath.Join("testdata", "recorded", "tgt_unit_serial.stdout"))
	if err != nil {
		f.Fatal(err)
	}
	if start, end := bytes.IndexByte(out, '['), bytes.LastIndexByte(out, ']'); start >= 0 && end > start {
		field := out[start+1 : end]
		f.Add(append([]byte{0x00, 0x80, 0x00, byte(len(field))}, field...))
	}
	f.Add([]byte{0x00, 0x80, 0x00, 0x08, 'v', 'o', 'l', 0, 0, ' ', ' ', ' '})
	f.Add([]byte{0x00, 0x80, 0xff, 0xff, 'x'})
	f.Fuzz(func(t *testing.T, page []byte) {
		serial, err := parseUnitSerialPage(page)
		if err != nil {
			return
		}
		if len(page) < 4 || page[1] != 0x80 {
			t.Fatalf("accepted a page of %d bytes with code %#x", len(page), page[1])
		}
		if serial != strings.Trim(serial, " \x00") || !bytes.Contains(page[4:], []byte(serial)) {
			t.Fatalf("serial %q from page %q", serial, page)
		}
		if length := int(page[2])<<8 | int(page[3]); len(serial) > length {
			t.Fatalf("serial %q is longer than the page says (%d)", serial, length)
		}
	})
}

func FuzzReadInitiatorName(f *testing.F) {
	rec, err := os.ReadFile(filepath.Join("testdata", "recorded", "initiatorname.iscsi"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rec)
	f.Add([]byte("InitiatorName = iqn.2004-10.com.ubuntu:01:abc \n"))
	f.Add([]byte("#InitiatorName=iqn.x\nInitiatorName=\n"))
	// The parser, not ReadInitiatorName: a temp file per input made the
	// fuzzer slow enough to overrun its own -fuzztime deadline in CI.
	f.Fuzz(func(t *testing.T, data []byte) {
		name, err := parseInitiatorName(data, "initiatorname.iscsi")
		if err != nil {
			return
		}
		if !ValidIQN(name) || !bytes.Contains(data, []byte(name)) {
			t.Fatalf("name %q from %q", name, data)
		}
	})
}
