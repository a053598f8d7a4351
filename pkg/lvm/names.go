package lvm

import "strings"

// maxTagLen is the longest tag accepted. lvm2 2.03.16 itself took a longer
// one in a test on this machine, but older releases capped tags at 1024 and
// nothing this driver stores needs more.
const maxTagLen = 1024

// maxNameLen is LVM's limit on VG and LV names (NAME_LEN 128, less the NUL).
const maxNameLen = 127

// ValidTag reports whether lvm accepts tag: 1 to 1024 characters from
// [A-Za-z0-9_+.\-/=!:&#]. Anything else makes lvchange/lvcreate fail with
// "Invalid argument for --addtag".
func ValidTag(tag string) bool {
	if tag == "" || len(tag) > maxTagLen {
		return false
	}
	for i := 0; i < len(tag); i++ {
		if !isAlnum(tag[i]) && !strings.ContainsRune("_+.-/=!:&#", rune(tag[i])) {
			return false
		}
	}
	return true
}

// reservedLVNameParts are the substrings lvm keeps for its hidden sub-LVs;
// an LV named with one of them is refused.
var reservedLVNameParts = []string{
	"_cdata", "_cmeta", "_corig", "_iorig", "_mimage", "_mlog", "_pmspare",
	"_rimage", "_rmeta", "_tdata", "_tmeta", "_vdata", "_vorigin", "_wcorig",
}

// ValidLVName reports whether name is usable as an LV name: a valid VG name
// (see validVGName) that does not start with "snapshot" or "pvmove" and has
// none of lvm's reserved sub-LV suffixes.
func ValidLVName(name string) bool {
	if !validVGName(name) || strings.HasPrefix(name, "snapshot") || strings.HasPrefix(name, "pvmove") {
		return false
	}
	for _, part := range reservedLVNameParts {
		if strings.Contains(name, part) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// validVGName reports whether name has LVM's name syntax: 1 to 127
// characters from [A-Za-z0-9+_.-], not starting with '-', not "." or "..".
// Checking before running lvm also keeps a name from ever being read as an
// option.
func validVGName(name string) bool {
	if name == "" || len(name) > maxNameLen || name == "." || name == ".." || name[0] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isAlnum(name[i]) && !strings.ContainsRune("+_.-", rune(name[i])) {
			return false
		}
	}
	return true
}
