package tgt

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Lines of "tgtadm --op show --mode conn --tid N", one group per
// connection (iscsi_target_show_connections in tgt's iscsi/target.c):
//
//	Session: 2
//	    Connection: 0
//	        Initiator: iqn.1993-08.org.debian:01:node-a
//	        IP Address: 127.0.0.1
const (
	connSessionPrefix   = "Session: "
	connConnPrefix      = "    Connection: "
	connInitiatorPrefix = "        Initiator: "
	connAddressPrefix   = "        IP Address: "
)

// ParseConnections reads the connection listing of one target into its
// sessions, each with every connection it has now (the target listing
// names only the connection a session logged in with). Unlike the target
// listing it has no alias, only the initiator's name, which tgtd admits
// only when it is exactly a bound name (tgtadm --initiator-name) or when an
// address ACL lets anyone in. The name is kept byte for byte, never
// trimmed, so it compares equal to a bound name only if it is that name.
//
// A connection starts only at a "Session:" line directly followed by a
// "Connection:" and an "Initiator:" line; tgtd prints those three at the
// start of a line, so no real connection is ever missed. A name with a line
// break (possible only through an address ACL) can add lines that look like
// more connections: they only ever name sessions of this same target, which
// such an ACL opens to anyone anyway, and a session whose lines disagree on
// its initiator gets a name that matches no bound initiator.
func ParseConnections(out []byte) ([]Session, error) {
	lines := splitLines(out)
	var heads []int
	for i := range lines {
		if _, _, _, ok := connHead(lines, i); ok {
			heads = append(heads, i)
		}
	}
	for i := 0; i < len(lines) && (len(heads) == 0 || i < heads[0]); i++ {
		if strings.TrimSpace(lines[i]) != "" {
			return nil, fmt.Errorf("tgtadm connection listing line %d %q: expected %q", i+1, lines[i], strings.TrimSpace(connSessionPrefix)+" N")
		}
	}
	var sessions []Session
	index := map[int]int{} // sid -> position in sessions
	for k, h := range heads {
		end := len(lines)
		if k+1 < len(heads) {
			end = heads[k+1]
		}
		sid, cid, name, _ := connHead(lines, h)
		// The group ends with the address line; the initiator's name runs
		// to the line before it, normally the Initiator line alone.
		addr := -1
		for i := end - 1; i >= h+3; i-- {
			if isConnAddress(lines[i]) {
				addr = i
				break
			}
		}
		nameEnd, ip := end, ""
		if addr >= 0 {
			nameEnd = addr
			ip = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(lines[addr]), "RDMA "), "IP Address: ")
		}
		for _, more := range lines[h+3 : nameEnd] {
			name += "\n" + more
		}
		conn := Connection{CID: cid, IP: ip}
		if at, seen := index[sid]; seen {
			s := &sessions[at]
			if s.Initiator != name {
				// One session cannot have two initiators: some of these
				// lines are an initiator's text. Keep neither name.
				s.Initiator = ambiguousInitiator
			}
			if !slices.ContainsFunc(s.Connections, func(c Connection) bool { return c.CID == cid }) {
				s.Connections = append(s.Connections, conn)
			}
			continue
		}
		index[sid] = len(sessions)
		sessions = append(sessions, Session{SID: sid, Initiator: name, Connections: []Connection{conn}})
	}
	return sessions, nil
}

// ambiguousInitiator stands for a session whose lines disagree on who the
// initiator is. It is not an iSCSI name (it has spaces), so it never
// matches a bound initiator.
const ambiguousInitiator = "(ambiguous initiator)"

// connHead reads the first three lines of a connection group at lines[i].
func connHead(lines []string, i int) (sid, cid int, name string, ok bool) {
	if i+2 >= len(lines) {
		return 0, 0, "", false
	}
	sidText, ok1 := strings.CutPrefix(lines[i], connSessionPrefix)
	cidText, ok2 := strings.CutPrefix(lines[i+1], connConnPrefix)
	name, ok3 := strings.CutPrefix(lines[i+2], connInitiatorPrefix)
	if !ok1 || !ok2 || !ok3 {
		return 0, 0, "", false
	}
	sid, err1 := parseID(sidText)
	cid, err2 := parseID(cidText)
	if err1 != nil || err2 != nil {
		return 0, 0, "", false
	}
	return sid, cid, name, true
}

// isConnAddress is the last line of a connection group: what the
// transport's ep_show printed ("IP Address: 127.0.0.1" for TCP, "RDMA IP
// Address: ..." for iSER), or nothing when it could not tell.
func isConnAddress(line string) bool {
	if line == "        " {
		return true
	}
	return strings.HasPrefix(line, connAddressPrefix) || strings.HasPrefix(line, "        RDMA IP Address: ")
}

// parseID reads a decimal session or connection number as tgt prints it
// (%u): digits only, no sign, no leading zero.
func parseID(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || strconv.FormatUint(n, 10) != s {
		return 0, fmt.Errorf("id %q", s)
	}
	return int(n), nil
}
