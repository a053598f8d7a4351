package tgt

import (
	"fmt"
	"strings"
)

// This file prints targets the way tgtd 1.0.85 does, so that tests can
// build listings with sessions whose initiator-chosen text is hostile: what
// tgt_target_show_all (usr/target.c), the session info built at login
// (usr/iscsi/session.c), lld_show (usr/target.c) and
// iscsi_target_show_connections (usr/iscsi/target.c) print. The recorded
// outputs in testdata/ check that this renderer matches the real daemon.

// nexusInfoSize is the buffer tgt formats a session's "Initiator ... IP
// Address" lines into (session->info, 1024 bytes with snprintf): longer
// text is cut, without its final newline.
const nexusInfoSize = 1024

// renderedSession is a session as tgtd keeps it: the initiator's name and
// alias are whatever it sent at login.
type renderedSession struct {
	SID, CID        int
	Initiator       string
	Alias           string // "" prints as "none"
	IP              string
	ExtraConnection []int // further connections of the session (conn mode only)
}

type renderedTarget struct {
	Target   Target
	Sessions []renderedSession
	// Outgoing is an outgoing CHAP account bound to the target: tgtd lists
	// it, the parser leaves it out (the driver never binds one).
	Outgoing string
}

// renderShow prints "tgtadm --op show --mode target".
func renderShow(targets []renderedTarget) string {
	var b strings.Builder
	for _, rt := range targets {
		t := rt.Target
		state := t.State
		if state == "" {
			state = "ready"
		}
		fmt.Fprintf(&b, "Target %d: %s\n    System information:\n        Driver: iscsi\n        State: %s\n", t.TID, t.IQN, state)
		b.WriteString("    I_T nexus information:\n")
		for _, s := range rt.Sessions {
			fmt.Fprintf(&b, "        I_T nexus: %d\n", s.SID)
			b.WriteString(nexusInfo(s))
		}
		b.WriteString("    LUN information:\n")
		b.WriteString(lunBlock(LUN{Number: 0, Type: "controller", SCSIID: fmt.Sprintf("IET     %04x0000", t.TID),
			SCSISN: fmt.Sprintf("beaf%d0", t.TID), BlockSize: 1, Online: true, BackingStoreType: "null"}))
		for _, l := range t.LUNs {
			b.WriteString(lunBlock(l))
		}
		b.WriteString("    Account information:\n")
		for _, a := range t.Accounts {
			fmt.Fprintf(&b, "        %s\n", a)
		}
		if rt.Outgoing != "" {
			fmt.Fprintf(&b, "        %s (outgoing)\n", rt.Outgoing)
		}
		b.WriteString("    ACL information:\n")
		for _, a := range t.ACLs {
			fmt.Fprintf(&b, "        %s\n", a)
		}
		for _, n := range t.InitiatorNames {
			fmt.Fprintf(&b, "        %s\n", n)
		}
	}
	return b.String()
}

// nexusInfo is session->info: at most nexusInfoSize-1 bytes.
func nexusInfo(s renderedSession) string {
	alias := s.Alias
	if alias == "" {
		alias = "none"
	}
	info := fmt.Sprintf("            Initiator: %s alias: %s\n            Connection: %d\n                IP Address: %s\n",
		s.Initiator, alias, s.CID, s.IP)
	if len(info) > nexusInfoSize-1 {
		info = info[:nexusInfoSize-1]
	}
	return info
}

func lunBlock(l LUN) string {
	path, bsType := l.BackingStore, l.BackingStoreType
	if path == "" {
		path = "None"
	}
	if bsType == "" {
		bsType = "None"
	}
	return fmt.Sprintf("        LUN: %d\n"+
		"            Type: %s\n"+
		"            SCSI ID: %s\n"+
		"            SCSI SN: %s\n"+
		"            Size: %d MB, Block size: %d\n"+
		"            Online: %s\n"+
		"            Removable media: No\n"+
		"            Prevent removal: No\n"+
		"            Readonly: %s\n"+
		"            SWP: No\n"+
		"            Thin-provisioning: %s\n"+
		"            Backing store type: %s\n"+
		"            Backing store path: %s\n"+
		"            Backing store flags: \n",
		l.Number, l.Type, l.SCSIID, l.SCSISN, l.Size/1_000_000, l.BlockSize,
		yesNo(l.Online), yesNo(l.ReadOnly), yesNo(l.ThinProvisioning), bsType, path)
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

// renderLLD prints "tgtadm --op show --mode lld".
func renderLLD(targets []renderedTarget) string {
	var b strings.Builder
	b.WriteString("LLDs:\n    iscsi: ready\n")
	for _, rt := range targets {
		fmt.Fprintf(&b, "        Target %d: %s\n", rt.Target.TID, rt.Target.IQN)
	}
	b.WriteString("    iser: error\n")
	return b.String()
}

// renderConn prints "tgtadm --op show --mode conn --tid N" for one target.
func renderConn(sessions []renderedSession) string {
	var b strings.Builder
	for _, s := range sessions {
		for _, cid := range append([]int{s.CID}, s.ExtraConnection...) {
			fmt.Fprintf(&b, "Session: %d\n    Connection: %d\n        Initiator: %s\n        IP Address: %s\n", s.SID, cid, s.Initiator, s.IP)
		}
	}
	return b.String()
}
