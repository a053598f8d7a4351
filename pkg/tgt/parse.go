package tgt

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// indentWidth is _TAB1 in tgt's tgtd.h: one nesting level of the show
// output.
const indentWidth = 4

// ParseTargets reads the output of "tgtadm --op show --mode target": one
// "Target N: IQN" line per target and, nested under it by indentation,
// sections of "Key: value" lines or plain list entries. Unknown sections and
// keys are skipped so that a newer tgt's additions do not break reading;
// structure that cannot be placed is an error.
func ParseTargets(out []byte) ([]Target, error) {
	p := &targetParser{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		if err := p.line(sc.Text()); err != nil {
			return nil, fmt.Errorf("tgtadm show output line %d %q: %w", n, sc.Text(), err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return p.finish(), nil
}

// targetParser holds where in the tree the previous lines left off.
type targetParser struct {
	targets []Target
	section string // level-1 header of the current target, without ':'
	lun     *LUN
	session *Session
	conn    *Connection
}

func (p *targetParser) line(raw string) error {
	text := strings.TrimRight(raw, " \t\r")
	if text == "" {
		return nil
	}
	body := strings.TrimLeft(text, " ")
	spaces := len(text) - len(body)
	if spaces%indentWidth != 0 || strings.HasPrefix(body, "\t") {
		return fmt.Errorf("indentation is not a multiple of %d spaces", indentWidth)
	}
	level := spaces / indentWidth
	if level == 0 {
		return p.target(body)
	}
	if len(p.targets) == 0 {
		return fmt.Errorf("indented line before any target")
	}
	t := &p.targets[len(p.targets)-1]
	if level == 1 {
		p.section = strings.TrimSuffix(body, ":")
		p.lun, p.session, p.conn = nil, nil, nil
		return nil
	}
	switch p.section {
	case "System information":
		return p.system(t, level, body)
	case "I_T nexus information":
		return p.nexus(t, level, body)
	case "LUN information":
		return p.lunLine(t, level, body)
	case "Account information":
		// An outgoing account is listed as "user (outgoing)"; this driver
		// never binds one, and it must not pass for an incoming account.
		if level == 2 && !strings.HasSuffix(body, " (outgoing)") {
			t.Accounts = append(t.Accounts, body)
		}
	case "ACL information":
		if level == 2 {
			if isAddressACL(body) {
				t.ACLs = append(t.ACLs, body)
			} else {
				t.InitiatorNames = append(t.InitiatorNames, body)
			}
		}
	}
	return nil
}

// target starts a target at "Target 1: iqn.2026-11.example:vol".
func (p *targetParser) target(body string) error {
	rest, ok := strings.CutPrefix(body, "Target ")
	if !ok {
		return fmt.Errorf("expected \"Target N: name\"")
	}
	tidText, iqn, ok := strings.Cut(rest, ": ")
	if !ok {
		return fmt.Errorf("expected \"Target N: name\"")
	}
	tid, err := strconv.Atoi(tidText)
	if err != nil {
		return fmt.Errorf("target id: %w", err)
	}
	p.targets = append(p.targets, Target{TID: tid, IQN: iqn})
	p.section, p.lun, p.session, p.conn = "", nil, nil, nil
	return nil
}

func (p *targetParser) system(t *Target, level int, body string) error {
	if key, value := keyValue(body); level == 2 && key == "State" {
		t.State = value
	}
	return nil
}

// nexus reads one session:
//
//	I_T nexus: 2
//	    Initiator: iqn.1993-08.org.debian:01:node-a alias: none
//	    Connection: 0
//	        IP Address: 127.0.0.1
func (p *targetParser) nexus(t *Target, level int, body string) error {
	key, value := keyValue(body)
	switch {
	case level == 2 && key == "I_T nexus":
		sid, err := strconv.Atoi(value)
		if err != nil {
			return fmt.Errorf("nexus id: %w", err)
		}
		t.Sessions = append(t.Sessions, Session{SID: sid})
		p.session, p.conn = &t.Sessions[len(t.Sessions)-1], nil
	case level == 3 && p.session == nil:
		return fmt.Errorf("session detail before any \"I_T nexus\"")
	case level == 3 && key == "Initiator":
		name, alias, _ := strings.Cut(value, " alias: ")
		p.session.Initiator = name
		if alias != "none" {
			p.session.Alias = alias
		}
	case level == 3 && key == "Connection":
		cid, err := strconv.Atoi(value)
		if err != nil {
			return fmt.Errorf("connection id: %w", err)
		}
		p.session.Connections = append(p.session.Connections, Connection{CID: cid})
		p.conn = &p.session.Connections[len(p.session.Connections)-1]
	case level == 4 && strings.HasSuffix(key, "IP Address"):
		if p.conn == nil {
			return fmt.Errorf("address before any \"Connection\"")
		}
		p.conn.IP = value
	}
	return nil
}

func (p *targetParser) lunLine(t *Target, level int, body string) error {
	key, value := keyValue(body)
	if level == 2 && key == "LUN" {
		n, err := strconv.Atoi(value)
		if err != nil {
			return fmt.Errorf("lun number: %w", err)
		}
		t.LUNs = append(t.LUNs, LUN{Number: n})
		p.lun = &t.LUNs[len(t.LUNs)-1]
		return nil
	}
	if level != 3 {
		return nil
	}
	if p.lun == nil {
		return fmt.Errorf("lun detail before any \"LUN\"")
	}
	return setLUNField(p.lun, key, value)
}

// setLUNField stores one "Key: value" line of a LUN.
func setLUNField(l *LUN, key, value string) error {
	switch key {
	case "Type":
		l.Type = value
	case "SCSI ID":
		l.SCSIID = value
	case "SCSI SN":
		l.SCSISN = value
	case "Size":
		return parseSize(l, value)
	case "Online":
		l.Online = value == "Yes"
	case "Readonly":
		l.ReadOnly = value == "Yes"
	case "Thin-provisioning":
		l.ThinProvisioning = value == "Yes"
	case "Backing store type":
		l.BackingStoreType = noneToEmpty(value)
	case "Backing store path":
		l.BackingStore = noneToEmpty(value)
	}
	return nil
}

// parseSize reads "67 MB, Block size: 512". tgt prints the size in
// megabytes of 10^6 bytes, rounded (print_disksize in target.c).
func parseSize(l *LUN, value string) error {
	sizeText, blockText, _ := strings.Cut(value, ", ")
	mbText, ok := strings.CutSuffix(sizeText, " MB")
	if !ok {
		return fmt.Errorf("size %q is not in MB", sizeText)
	}
	mb, err := strconv.ParseUint(mbText, 10, 64)
	if err != nil {
		return fmt.Errorf("size: %w", err)
	}
	l.Size = mb * 1000 * 1000
	if key, block := keyValue(blockText); key == "Block size" {
		bs, err := strconv.ParseUint(block, 10, 32)
		if err != nil {
			return fmt.Errorf("block size: %w", err)
		}
		l.BlockSize = uint32(bs)
	}
	return nil
}

// finish drops LUN 0, the controller LUN tgt adds to every target.
func (p *targetParser) finish() []Target {
	for i := range p.targets {
		t := &p.targets[i]
		luns := t.LUNs[:0]
		for _, l := range t.LUNs {
			if l.Number != 0 {
				luns = append(luns, l)
			}
		}
		t.LUNs = luns
		if len(t.LUNs) == 0 {
			t.LUNs = nil
		}
	}
	return p.targets
}

// keyValue splits "Key: value" at the first colon.
func keyValue(body string) (string, string) {
	key, value, _ := strings.Cut(body, ":")
	return key, strings.TrimSpace(value)
}

func noneToEmpty(s string) string {
	if s == "None" {
		return ""
	}
	return s
}

// ParseAccounts reads the output of "tgtadm --op show --mode account":
// "Account list:" and one user per indented line (nothing at all when
// there is no account).
func ParseAccounts(out []byte) []string {
	var users []string
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, " ") {
			continue // the "Account list:" header
		}
		if user := strings.TrimSpace(line); user != "" {
			users = append(users, user)
		}
	}
	return users
}
