package iscsi

import (
	"strings"
	"testing"
)

func TestValidIQN(t *testing.T) {
	for name, want := range map[string]bool{
		"iqn.1993-08.org.debian:01:3b6a34d3ae5b":                       true,
		"iqn.2026-11.io.csi.lvm-iscsi:vol-test":                        true,
		"iqn.2026-11.io.csi.lvm-iscsi":                                 true,
		"eui.02004567a425678d":                                         true,
		"naa.52004567ba64678d":                                         true,
		"naa.62004567ba64678d0123456789abcdef":                         true,
		"":                                                             false,
		"iqn.1993-08.org.debian:01:3B6A":                               false, // upper case
		"IQN.1993-08.org.debian:01:3b6a":                               false,
		"iqn.1993-8.org.debian":                                        false, // month needs two digits
		"iqn.1993-13.org.debian":                                       false,
		"iqn.1993-08.":                                                 false,
		"iqn.1993-08.org.debian:a b":                                   false,
		"iqn.1993-08.org.debian:a/b":                                   false,
		"iqn.1993-08.org.debian:a_b":                                   false,
		"iqn.1993-08.-org.debian":                                      false,
		"eui.02004567a425678":                                          false, // 15 digits
		"eui.02004567A425678D":                                         false,
		"naa.52004567ba64678d01":                                       false,
		"-iqn.1993-08.org.debian":                                      false,
		"iqn.2026-11.io.csi.lvm-iscsi:" + strings.Repeat("a", 200):     false, // over 223 bytes
		"iqn.2026-11.io.csi.lvm-iscsi:vol-test\n":                      false,
		"iqn.2026-11.io.csi.lvm-iscsi:vol-test,iqn.2026-11.io.other:x": false,
	} {
		if got := ValidIQN(name); got != want {
			t.Errorf("ValidIQN(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestValidPortal(t *testing.T) {
	for portal, want := range map[string]bool{
		"10.0.0.5:3260":       true,
		"127.0.0.1:3262":      true,
		"[fd00::5]:3260":      true,
		"10.0.0.5":            false,
		"10.0.0.5:":           false,
		"10.0.0.5:0":          false,
		"10.0.0.5:65536":      false,
		"10.0.0.5:03260":      false,
		"10.0.0.5:+3260":      false,
		"fd00::5:3260":        false,
		"storage.example:326": false,
		"-p:3260":             false,
		"":                    false,
	} {
		if got := ValidPortal(portal); got != want {
			t.Errorf("ValidPortal(%q) = %v, want %v", portal, got, want)
		}
	}
}
