package iscsi

import (
	"net"
	"regexp"
	"strconv"
)

// maxNameLength is RFC 3720's limit on an iSCSI name, in bytes.
const maxNameLength = 223

// iSCSI names (RFC 3720 section 3.2.6.3), lower case only: iSCSI names
// compare after case folding, and tgt ACLs and iscsiadm records compare
// bytes, so one spelling is accepted and callers fold before checking.
var (
	// iqn.YYYY-MM.reversed.domain[:anything the naming authority likes]
	iqnPattern = regexp.MustCompile(`^iqn\.[0-9]{4}-(0[1-9]|1[0-2])\.[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[a-z0-9.:-]+)?$`)
	// eui. and 16 hex digits (an EUI-64).
	euiPattern = regexp.MustCompile(`^eui\.[0-9a-f]{16}$`)
	// naa. and 16 or 32 hex digits (a 64- or 128-bit NAA identifier).
	naaPattern = regexp.MustCompile(`^naa\.[0-9a-f]{16}([0-9a-f]{16})?$`)
)

// ValidIQN reports whether s is an iSCSI name in the iqn., eui. or naa.
// form, in lower case, using only [a-z0-9.:-]. It is deliberately strict:
// the name ends up in iscsiadm's argv, in a directory name under
// /etc/iscsi/nodes and in tgt ACLs.
func ValidIQN(s string) bool {
	if len(s) > maxNameLength {
		return false
	}
	return iqnPattern.MatchString(s) || euiPattern.MatchString(s) || naaPattern.MatchString(s)
}

// ValidPortal reports whether s is an iSCSI portal this package can log in
// to and find disks for: an IP address literal and a port, "10.0.0.5:3260"
// or "[fd00::5]:3260". Host names are refused: the kernel and udev name
// sessions and /dev/disk/by-path links by address, so a name would never
// match the disk.
func ValidPortal(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || net.ParseIP(host) == nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n > 0 && n <= 65535 && strconv.Itoa(n) == port
}
