package tgt

import (
	"fmt"
	"strconv"
	"strings"
)

// indentWidth is _TAB1 in tgt's tgtd.h: one nesting level of the show
// output.
const indentWidth = 4

// Lines of "tgtadm --op show --mode target" that the parser anchors on.
const (
	nexusInfoLine = "    I_T nexus information:"
	lunInfoLine   = "    LUN information:"
	nexusPrefix   = "        I_T nexus: "
)

// ParseTargets reads the output of "tgtadm --op show --mode target", given
// the targets tgtd has (names, from ParseTargetNames). That listing is an
// indented text tree in which tgtd prints, verbatim, text an initiator chose
// at login: its InitiatorName and InitiatorAlias, on the session lines of
// the "I_T nexus information" section. An alias may hold line breaks and
// anything else but NUL, so the lines of that section can look like any
// structure at all, including a "Target N:" header. The parse therefore
// trusts no line of it:
//
//   - A target starts only at a line that is exactly "Target <tid>: <iqn>"
//     for one of names; each must be there exactly once. A copy of a real
//     header inside a session's text cannot be told from the real one, so
//     it makes the listing an error rather than a guess. Other lines that
//     look like headers are session text.
//   - Within a target, what comes before "I_T nexus information" is read
//     forwards from the header and what comes after it (LUNs, accounts,
//     ACLs) is read backwards from the next header: both are printed by
//     tgtd from state only the administrator sets. Everything between is
//     the sessions' text and is not read at all; tgt cuts a session's text
//     at 1023 bytes, so the next real line can even be glued to it.
//
// The targets are returned without Sessions: *Tgt.ListTargets reads them
// from the connection listing (ParseConnections). Unknown sections and keys
// are skipped so that a newer tgt's additions do not break reading;
// structure that cannot be placed is an error.
func ParseTargets(out []byte, names []TargetName) ([]Target, error) {
	targets, _, err := parseTargets(out, names)
	return targets, err
}

// parseTargets is ParseTargets that also says which targets have sessions:
// those whose "I_T nexus information" section is not empty.
func parseTargets(out []byte, names []TargetName) ([]Target, []bool, error) {
	if err := checkNames(names); err != nil {
		return nil, nil, err
	}
	lines := splitLines(out)
	starts, err := headerLines(lines, names)
	if err != nil {
		return nil, nil, err
	}
	if len(names) == 0 {
		for i, l := range lines {
			if strings.TrimSpace(l) != "" {
				return nil, nil, fmt.Errorf("line %d %q: tgtd lists no target", i+1, l)
			}
		}
		return nil, nil, nil
	}
	if first := starts[0].line; first != 0 {
		return nil, nil, fmt.Errorf("line 1 %q: expected a target header", lines[0])
	}
	targets := make([]Target, len(starts))
	busy := make([]bool, len(starts))
	for i, s := range starts {
		end := len(lines)
		if i+1 < len(starts) {
			end = starts[i+1].line
		}
		b := &block{lines: lines[s.line:end], first: s.line + 1, target: Target{TID: s.name.TID, IQN: s.name.IQN}}
		if err := b.parse(); err != nil {
			return nil, nil, fmt.Errorf("target %d (%s): %w", s.name.TID, s.name.IQN, err)
		}
		targets[i], busy[i] = b.target, b.sessions
	}
	return targets, busy, nil
}

// splitLines splits out at newlines, without the empty string after the
// last one.
func splitLines(out []byte) []string {
	text := string(out)
	if text == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}

// checkNames refuses a target list that names a tid or an IQN twice: tgtd
// cannot have that, so something is wrong with what was read.
func checkNames(names []TargetName) error {
	tids := map[int]bool{}
	iqns := map[string]bool{}
	for _, n := range names {
		if tids[n.TID] {
			return fmt.Errorf("target id %d is listed more than once", n.TID)
		}
		if iqns[n.IQN] {
			return fmt.Errorf("target name %s is listed more than once", n.IQN)
		}
		tids[n.TID], iqns[n.IQN] = true, true
	}
	return nil
}

type headerAt struct {
	line int
	name TargetName
}

// headerLines finds the line of each target's header, in listing order.
func headerLines(lines []string, names []TargetName) ([]headerAt, error) {
	want := make(map[string]TargetName, len(names))
	for _, n := range names {
		want[headerText(n)] = n
	}
	found := map[string]int{}
	var starts []headerAt
	for i, l := range lines {
		n, ok := want[l]
		if !ok {
			continue
		}
		if prev, dup := found[l]; dup {
			return nil, fmt.Errorf("the header %q is there more than once (lines %d and %d): an initiator's login text (alias or name) repeats it, so the listing cannot be read safely", l, prev+1, i+1)
		}
		found[l] = i
		starts = append(starts, headerAt{line: i, name: n})
	}
	for _, n := range names {
		if _, ok := found[headerText(n)]; !ok {
			return nil, fmt.Errorf("target %d (%s) is missing from the target listing", n.TID, n.IQN)
		}
	}
	return starts, nil
}

func headerText(n TargetName) string {
	return fmt.Sprintf("Target %d: %s", n.TID, n.IQN)
}

// block is the lines of one target, from its header to the next header.
type block struct {
	lines    []string
	first    int // line number of lines[0] in the listing, for errors
	target   Target
	sessions bool
}

func (b *block) parse() error {
	stop, glued, err := b.tail()
	if err != nil {
		return err
	}
	nexus, err := b.head(stop)
	if err != nil {
		return err
	}
	// The sessions' text, which is not read: only whether there is any.
	if region := b.lines[nexus+1 : stop]; len(region) > 0 {
		// Its first line is tgtd's own: the first session's id.
		id, ok := strings.CutPrefix(region[0], nexusPrefix)
		if _, err := parseID(id); !ok || err != nil {
			return b.errorf(nexus+1, "expected %q and a session id", strings.TrimSpace(nexusPrefix))
		}
		b.sessions = true
	} else if glued {
		return b.errorf(stop, "session text without an I_T nexus line")
	}
	b.target.LUNs = dropControllerLUN(b.target.LUNs)
	return nil
}

func (b *block) errorf(i int, format string, args ...any) error {
	return fmt.Errorf("line %d %q: %s", b.first+i, b.lines[i], fmt.Sprintf(format, args...))
}

// tail reads the block backwards from its end to the "LUN information"
// line, the lowest line ending in that text: every line below it was
// printed by tgtd from the LUNs, accounts and ACLs. glued is true when that
// line carries the end of a session's text that tgt cut short.
func (b *block) tail() (stop int, glued bool, err error) {
	var body []int // the current section's lines, bottom up
	for i := len(b.lines) - 1; i > 0; i-- {
		raw := b.lines[i]
		if strings.HasSuffix(raw, lunInfoLine) {
			return i, raw != lunInfoLine, b.section("LUN information", body)
		}
		text := strings.TrimRight(raw, " \t\r")
		if text == "" {
			continue
		}
		level, content, ok := indentLevel(text)
		switch {
		case !ok:
			return 0, false, b.errorf(i, "indentation is not a multiple of %d spaces", indentWidth)
		case level == 0:
			return 0, false, b.errorf(i, "unexpected line after the target's sessions")
		case level == 1:
			if err := b.section(strings.TrimSuffix(content, ":"), body); err != nil {
				return 0, false, err
			}
			body = nil
		default:
			body = append(body, i)
		}
	}
	return 0, false, fmt.Errorf("no %q line", strings.TrimSpace(lunInfoLine))
}

// head reads the block forwards from the header to the "I_T nexus
// information" line, which it returns; it must come before stop.
func (b *block) head(stop int) (int, error) {
	section := ""
	for i := 1; i < stop; i++ {
		if b.lines[i] == nexusInfoLine {
			return i, nil
		}
		text := strings.TrimRight(b.lines[i], " \t\r")
		if text == "" {
			continue
		}
		level, content, ok := indentLevel(text)
		switch {
		case !ok:
			return 0, b.errorf(i, "indentation is not a multiple of %d spaces", indentWidth)
		case level == 0:
			return 0, b.errorf(i, "unexpected line before the target's sessions")
		case level == 1:
			section = strings.TrimSuffix(content, ":")
		case level == 2 && section == "System information":
			if key, value := keyValue(content); key == "State" {
				b.target.State = value
			}
		}
	}
	return 0, fmt.Errorf("no %q line before %q", strings.TrimSpace(nexusInfoLine), strings.TrimSpace(lunInfoLine))
}

// indentLevel splits a line into its nesting level and content.
func indentLevel(text string) (int, string, bool) {
	content := strings.TrimLeft(text, " ")
	spaces := len(text) - len(content)
	if spaces%indentWidth != 0 || strings.HasPrefix(content, "\t") {
		return 0, "", false
	}
	return spaces / indentWidth, content, true
}

// section stores one of the sections after the sessions, given the line
// indexes of its indented lines (level 2 and deeper), bottom up.
func (b *block) section(name string, bottomUp []int) error {
	t := &b.target
	for k := len(bottomUp) - 1; k >= 0; k-- {
		i := bottomUp[k]
		level, content, _ := indentLevel(strings.TrimRight(b.lines[i], " \t\r"))
		switch name {
		case "LUN information":
			if err := lunLine(t, level, content); err != nil {
				return b.errorf(i, "%v", err)
			}
		case "Account information":
			if level != 2 {
				continue
			}
			// An outgoing account is listed as "user (outgoing)"; this driver
			// never binds one, and it must not pass for an incoming account.
			if !strings.HasSuffix(content, " (outgoing)") {
				t.Accounts = append(t.Accounts, content)
			}
		case "ACL information":
			if level != 2 {
				continue
			}
			if isAddressACL(content) {
				t.ACLs = append(t.ACLs, content)
			} else {
				t.InitiatorNames = append(t.InitiatorNames, content)
			}
		}
	}
	return nil
}

// lunLine reads one line of the LUN section: "LUN: n" starts a LUN, deeper
// lines are its "Key: value" fields.
func lunLine(t *Target, level int, content string) error {
	key, value := keyValue(content)
	if level == 2 && key == "LUN" {
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			return fmt.Errorf("lun number %q", value)
		}
		t.LUNs = append(t.LUNs, LUN{Number: n})
		return nil
	}
	if level != 3 {
		return nil
	}
	if len(t.LUNs) == 0 {
		return fmt.Errorf("lun detail before any \"LUN\"")
	}
	return setLUNField(&t.LUNs[len(t.LUNs)-1], key, value)
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
	if err != nil || mb > maxLUNMegabytes {
		return fmt.Errorf("size %q", mbText)
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

// maxLUNMegabytes keeps Size from overflowing: no LUN is anywhere near
// 2^64 bytes.
const maxLUNMegabytes = 1<<64/1_000_000 - 1

// dropControllerLUN drops LUN 0, the controller LUN tgt adds to every
// target.
func dropControllerLUN(luns []LUN) []LUN {
	var out []LUN
	for _, l := range luns {
		if l.Number != 0 {
			out = append(out, l)
		}
	}
	return out
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
// "Account list:" and one user per line indented by one level (nothing at
// all when there is no account). Account names are set only by the
// administrator (tgtadm --op new --mode account); lines of any other form
// are skipped.
func ParseAccounts(out []byte) []string {
	var users []string
	for _, line := range splitLines(out) {
		user, ok := strings.CutPrefix(strings.TrimRight(line, " \t\r"), "    ")
		if !ok || user == "" || strings.HasPrefix(user, " ") || strings.HasPrefix(user, "\t") {
			continue // the "Account list:" header, or not tgtd's
		}
		users = append(users, user)
	}
	return users
}
