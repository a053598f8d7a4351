package main

import (
	"strings"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

// The floors' LVs must cost lvm what the driver's cost (same name and tag
// lengths) without ever being taken for the driver's.
func TestFloorNamesAndTagsMirrorTheDriversOutsideItsNamespace(t *testing.T) {
	id := floorID("bench-floor-1")
	if len(id) != 32 || !strings.HasPrefix(id, "bfl-") {
		t.Errorf("floor id %q: want 32 characters with the prefix bfl- (the driver's ids are 32, csi- or snap-)", id)
	}
	if floorID("bench-floor-1") != id || floorID("bench-floor-2") == id {
		t.Error("floor ids must be stable per name and distinct between names")
	}
	driver := []string{"lic.v1", "lic.name=YmVuY2g", "lic.prov=thin", "other.tag"}
	floor := floorTags(driver...)
	for i := range driver {
		if len(floor[i]) != len(driver[i]) {
			t.Errorf("tag %q became %q: lengths differ", driver[i], floor[i])
		}
		if strings.HasPrefix(floor[i], "lic.") {
			t.Errorf("floor tag %q is in the driver's namespace", floor[i])
		}
	}
	if floor[3] != "other.tag" {
		t.Errorf("a tag that is not the driver's was changed to %q", floor[3])
	}
}

func TestParseFio(t *testing.T) {
	out := []byte(`fio: some warning before the document
{"jobs":[{"error":0,"read":{"iops":1500.5,"bw_bytes":6146048},"write":{"iops":0,"bw_bytes":0}}]}`)
	iops, err := parseFio(out, false)
	if err != nil || iops != 1500.5 {
		t.Errorf("IOPS %v, %v", iops, err)
	}
	mibs, err := parseFio(out, true)
	if err != nil || mibs != 6146048.0/(1<<20) {
		t.Errorf("MiB/s %v, %v", mibs, err)
	}
	for _, bad := range []string{`{"jobs":[]}`, `{"jobs":[{"error":5}]}`, `not json`} {
		if _, err := parseFio([]byte(bad), false); err == nil {
			t.Errorf("no error for %s", bad)
		}
	}
}

func TestHealedNeedsEveryTargetWhole(t *testing.T) {
	const initiator = "iqn.2026-11.io.example:node"
	vols := []*lifecycle.Volume{
		{ID: "csi-a", PublishContext: map[string]string{"iqn": "iqn.x:csi-a"}},
		{ID: "csi-b", PublishContext: map[string]string{"iqn": "iqn.x:csi-b"}},
	}
	whole := func(iqn, serial string) tgt.Target {
		return tgt.Target{IQN: iqn, LUNs: []tgt.LUN{{Number: 1, SCSISN: serial}}, InitiatorNames: []string{initiator}, Accounts: []string{"u"}}
	}
	all := []tgt.Target{whole("iqn.x:csi-a", "csi-a"), whole("iqn.x:csi-b", "csi-b")}
	if !healed(all, vols, initiator) {
		t.Error("both targets whole, not healed")
	}
	broken := map[string]func(*tgt.Target){
		"no LUN":            func(t *tgt.Target) { t.LUNs = nil },
		"wrong serial":      func(t *tgt.Target) { t.LUNs[0].SCSISN = "csi-a" },
		"no account":        func(t *tgt.Target) { t.Accounts = nil },
		"initiator unbound": func(t *tgt.Target) { t.InitiatorNames = nil },
	}
	for name, breakIt := range broken {
		targets := []tgt.Target{whole("iqn.x:csi-a", "csi-a"), whole("iqn.x:csi-b", "csi-b")}
		breakIt(&targets[1])
		if healed(targets, vols, initiator) {
			t.Errorf("%s: taken for healed", name)
		}
	}
	if healed(all[:1], vols, initiator) {
		t.Error("a missing target taken for healed")
	}
}
