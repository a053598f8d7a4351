package lvm

import (
	"strings"
	"testing"
)

func TestValidTag(t *testing.T) {
	for _, tag := range []string{"lvm-iscsi-csi", "csi.name=pvc-0001", "#!&:=/+.-_", "-leading-dash", strings.Repeat("a", 1024)} {
		if !ValidTag(tag) {
			t.Errorf("ValidTag(%q) = false", tag)
		}
	}
	// lvm refused "a,b", "é" and "x@y" with "Invalid argument for --addtag"
	// (testdata/lvchange-tags-invalid has "bad tag").
	for _, tag := range []string{"", "bad tag", "a,b", "é", "x@y", strings.Repeat("a", 1025)} {
		if ValidTag(tag) {
			t.Errorf("ValidTag(%q) = true", tag)
		}
	}
}

func TestValidLVName(t *testing.T) {
	for _, name := range []string{"thick1", "pvc-0a1b.c+d_e", "x", strings.Repeat("a", 127)} {
		if !ValidLVName(name) {
			t.Errorf("ValidLVName(%q) = false", name)
		}
	}
	for _, name := range []string{"", ".", "..", "-n", "a/b", "a b", "snapshot1", "pvmove0", "x_tdata", "y_tmeta", "z_pmspare", strings.Repeat("a", 128)} {
		if ValidLVName(name) {
			t.Errorf("ValidLVName(%q) = true", name)
		}
	}
}
