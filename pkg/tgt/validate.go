package tgt

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode"
)

// Limits tgt and iSCSI put on what this package passes to tgtadm.
const (
	// MaxSCSIIDLen and MaxSCSISNLen are SCSI_ID_LEN and SCSI_SN_LEN in tgt's
	// tgtd.h: longer values are silently truncated by tgtd, which would
	// break the node's serial check, so they are refused here.
	MaxSCSIIDLen = 36
	MaxSCSISNLen = 36
	// MaxISCSINameLen is the iSCSI name limit of RFC 7143.
	MaxISCSINameLen = 223
)

// tgtadm hands names, paths and params to tgtd as one "key=value,key=value"
// string, so a comma inside a value would be read as a separator.
const paramSeparators = ",="

func checkTID(op string, tid int) error {
	if tid < 1 {
		return invalid(op, "target id %d: must be >= 1", tid)
	}
	return nil
}

func checkLUN(op string, lun int) error {
	// LUN 0 is the controller LUN tgt creates with the target.
	if lun < 1 {
		return invalid(op, "lun %d: must be >= 1", lun)
	}
	return nil
}

// checkToken refuses values tgtd would misparse: empty, too long, with
// whitespace or control characters, or with a request separator.
func checkToken(op, what, v string, maxLen int) error {
	if v == "" {
		return invalid(op, "%s is empty", what)
	}
	if len(v) > maxLen {
		return invalid(op, "%s %q is longer than %d bytes", what, v, maxLen)
	}
	if i := strings.IndexFunc(v, badTokenRune); i >= 0 {
		return invalid(op, "%s %q has %q, which tgtadm cannot pass", what, v, v[i])
	}
	return nil
}

func badTokenRune(r rune) bool {
	return r > unicode.MaxASCII || unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(paramSeparators, r)
}

func checkIQN(op, what, iqn string) error {
	return checkToken(op, what, iqn, MaxISCSINameLen)
}

// checkBackingStore requires an absolute path without a comma: tgt would
// otherwise create a removable, empty LUN or split the path.
func checkBackingStore(op, path string) error {
	if path == "" {
		return invalid(op, "backing store is empty")
	}
	if !filepath.IsAbs(path) || filepath.Clean(path) != path {
		return invalid(op, "backing store %q is not a clean absolute path", path)
	}
	if strings.ContainsAny(path, ",\n") {
		return invalid(op, "backing store %q has a comma or newline, which tgtadm cannot pass", path)
	}
	return nil
}

// checkPassword only refuses what cannot travel through tgtadm; the CHAP
// length rules are the caller's (it generates the secrets).
func checkPassword(op, password string) error {
	if password == "" {
		return invalid(op, "password is empty")
	}
	if strings.ContainsAny(password, "\x00\n") {
		return invalid(op, "password has a NUL or newline")
	}
	return nil
}

func checkLUNParams(op string, p LUNParams) error {
	if p.SCSIID != "" {
		if err := checkToken(op, "scsi_id", p.SCSIID, MaxSCSIIDLen); err != nil {
			return err
		}
	}
	if p.SCSISN != "" {
		if err := checkToken(op, "scsi_sn", p.SCSISN, MaxSCSISNLen); err != nil {
			return err
		}
	}
	return nil
}

// lunParams is the --params value AddLUN sets on a new LUN.
func lunParams(p LUNParams) string {
	var parts []string
	if p.SCSIID != "" {
		parts = append(parts, "scsi_id="+p.SCSIID)
	}
	if p.SCSISN != "" {
		parts = append(parts, "scsi_sn="+p.SCSISN)
	}
	parts = append(parts, fmt.Sprintf("thin_provisioning=%d", boolInt(p.ThinProvisioning)))
	if p.WriteCacheOff {
		parts = append(parts, "mode_page="+writeThroughCachingPage)
	}
	return strings.Join(parts, ",")
}

// writeThroughCachingPage is the caching mode page (8) tgt gives every
// disk LU (sbc.c: "8:0:18:0x14:..."), with WCE (0x04 of its first byte)
// cleared: tgtd's rdwr backing store then fdatasyncs after each write.
// tgt's parser splits --params at ',' and the page at ':', so it passes
// through as one parameter.
const writeThroughCachingPage = "8:0:18:0x10:0:0xff:0xff:0:0:0xff:0xff:0xff:0xff:0x80:0x14:0:0:0:0:0:0"

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// firstError returns the first failed check, so a caller gets one *Error.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
