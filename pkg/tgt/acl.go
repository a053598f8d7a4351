package tgt

import (
	"net/netip"
	"strconv"
	"strings"
)

// isAddressACL tells an address ACL (bound with -I) from an initiator name
// (bound with -Q): tgt prints both in one list. Addresses are what tgt's
// ip_match in iscsi/target.c accepts: "ALL", or a numeric IPv4/IPv6
// address, optionally in brackets, optionally with "/prefix". No iSCSI name
// (iqn., eui., naa.) has that form.
func isAddressACL(entry string) bool {
	if entry == "ALL" {
		return true
	}
	host, prefix := entry, ""
	if rest, ok := strings.CutPrefix(entry, "["); ok {
		var closed bool
		host, prefix, closed = strings.Cut(rest, "]")
		if !closed || (prefix != "" && !strings.HasPrefix(prefix, "/")) {
			return false
		}
		prefix = strings.TrimPrefix(prefix, "/")
	} else {
		host, prefix, _ = strings.Cut(entry, "/")
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return false
	}
	if prefix != "" {
		if _, err := strconv.ParseUint(prefix, 10, 8); err != nil {
			return false
		}
	}
	return true
}
