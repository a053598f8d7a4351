package pool

import "testing"

func TestVolumeIDIsStableShortAndValid(t *testing.T) {
	a, b := VolumeID("pvc-1"), VolumeID("pvc-1")
	if a != b {
		t.Fatal("VolumeID is not deterministic")
	}
	if VolumeID("pvc-2") == a {
		t.Fatal("different names share an id")
	}
	if len(a) != 32 || !ValidVolumeID(a) {
		t.Fatalf("id %q: want 32 characters of the volume id form (it is the LUN serial)", a)
	}
	for _, bad := range []string{"", "csi-", "csi-XYZ", "../etc", a + "0", "vol-" + a[4:]} {
		if ValidVolumeID(bad) {
			t.Errorf("ValidVolumeID(%q) = true", bad)
		}
	}
}

func TestTagsRoundTrip(t *testing.T) {
	tags := volumeTags("name with spaces/ünïcode", Thin)
	tags = append(tags, pubTag(nodeA), pubTag(nodeB), "someone-elses-tag")
	info := parseTags(tags)
	if !info.ours || info.name != "name with spaces/ünïcode" || info.prov != Thin || info.deleting {
		t.Fatalf("parsed %v", info)
	}
	if len(info.nodes) != 2 || info.nodes[0] != nodeA || info.nodes[1] != nodeB {
		t.Fatalf("nodes = %+v", info.nodes)
	}
	if parseTags([]string{tagOwner, tagState + stateDelete}).deleting != true {
		t.Fatal("deleting state not read")
	}
	bad := parseTags([]string{tagOwner, tagPub + "not-base64!", tagPub + "only-one-part"})
	if len(bad.nodes) != 0 || len(bad.malformed) != 2 {
		t.Fatalf("malformed tags parsed as %+v", bad)
	}
}
