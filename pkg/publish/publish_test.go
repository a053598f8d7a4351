package publish

import "testing"

func TestIQNRoundTrip(t *testing.T) {
	for _, prefix := range []string{"iqn.2026-11.io.csi.lvm-iscsi", "iqn.2003-01.org.example:storage"} {
		iqn := IQN(prefix, "csi-0123456789abcdef0123456789ab")
		id, ok := VolumeIDOf(iqn)
		if !ok || id != "csi-0123456789abcdef0123456789ab" {
			t.Errorf("VolumeIDOf(%q) = %q, %v", iqn, id, ok)
		}
		if !IsTargetOf(iqn, id) || IsTargetOf(iqn, "csi-ffffffffffffffffffffffffffff") {
			t.Errorf("IsTargetOf(%q) does not tell its volume apart", iqn)
		}
	}
}

func TestVolumeIDOfRejectsNamesWithoutID(t *testing.T) {
	for _, iqn := range []string{"", "iqn.2026-11.io.csi.lvm-iscsi", "iqn.2026-11.io.csi.lvm-iscsi:"} {
		if id, ok := VolumeIDOf(iqn); ok {
			t.Errorf("VolumeIDOf(%q) = %q, true; want false", iqn, id)
		}
	}
	// A volume id that merely ends like another must not match it.
	if IsTargetOf("iqn.x:xcsi-1", "csi-1") {
		t.Error("IsTargetOf matched a suffix that is not the whole id")
	}
}
