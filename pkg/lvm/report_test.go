package lvm

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

const mib = 1 << 20

func lvsByName(t *testing.T, recording string) map[string]LV {
	t.Helper()
	lvs, err := parseLVs([]byte(readRecording(t, recording, "stdout")))
	if err != nil {
		t.Fatalf("parseLVs(%s): %v", recording, err)
	}
	byName := map[string]LV{}
	for _, lv := range lvs {
		byName[lv.Name] = lv
	}
	if len(byName) != len(lvs) {
		t.Fatalf("duplicate names in %v", lvs)
	}
	return byName
}

func TestParseVGs(t *testing.T) {
	vgs, err := parseVGs([]byte(readRecording(t, "vgs-fresh", "stdout")))
	if err != nil || len(vgs) != 1 {
		t.Fatalf("parseVGs = %v, %v", vgs, err)
	}
	vg := vgs[0]
	// record.sh: a 1 GiB loop file, default 4 MiB extents; the PV label and
	// metadata area take one extent.
	if vg.Name != "csivg" || vg.ExtentSize != 4*mib || vg.Size != 1024*mib-vg.ExtentSize || vg.Free != vg.Size || vg.UUID == "" {
		t.Errorf("fresh VG = %+v", vg)
	}
	used, err := parseVGs([]byte(readRecording(t, "vgs-used", "stdout")))
	if err != nil || len(used) != 1 {
		t.Fatalf("parseVGs(vgs-used) = %v, %v", used, err)
	}
	// thick1 64 + foreign 16 + pool 256 (+ 4 tmeta + 4 pmspare) + cow1 32 +
	// cow2 68 (lvm's trimmed COW size) MiB.
	if want := vg.Size - 444*mib; used[0].Free != want {
		t.Errorf("free after creations = %d, want %d", used[0].Free, want)
	}
}

func TestParseLVs(t *testing.T) {
	lvs := lvsByName(t, "lvs-all")
	if got, want := slices.Sorted(maps.Keys(lvs)), []string{"cow1", "cow2", "foreign", "pool", "snap1", "thick1", "thin1"}; !slices.Equal(got, want) {
		t.Fatalf("LV names = %q, want %q", got, want)
	}

	thick := lvs["thick1"]
	if thick.VG != "csivg" || thick.Size != 64*mib || thick.Path != "/dev/csivg/thick1" || !thick.Active || thick.UUID == "" {
		t.Errorf("thick1 = %+v", thick)
	}
	if !slices.Equal(thick.Tags, []string{"csi.name=pvc-0001", "lvm-iscsi-csi"}) {
		t.Errorf("thick1 tags = %q", thick.Tags)
	}
	if thick.IsThinPool() || thick.IsThinVolume() || thick.Origin != "" || thick.IsCOWSnapshot() {
		t.Errorf("thick1 (a COW origin) classified as pool/thin/snapshot: %q", thick.Attr)
	}

	pool := lvs["pool"]
	if !pool.IsThinPool() || pool.IsThinVolume() || pool.Size != 256*mib || pool.Path != "" || !pool.Active {
		t.Errorf("pool = %+v", pool)
	}
	// 32 MiB of random data written into thin1 of the 256 MiB pool.
	if pool.DataPercent != 12.5 || pool.MetadataPercent <= 0 {
		t.Errorf("pool usage = %v%% data, %v%% metadata", pool.DataPercent, pool.MetadataPercent)
	}

	thin := lvs["thin1"]
	if !thin.IsThinVolume() || thin.Origin != "" || thin.PoolLV != "pool" || thin.Size != 128*mib || thin.DataPercent != 25 || !thin.Active {
		t.Errorf("thin1 = %+v", thin)
	}

	snap := lvs["snap1"]
	if !snap.IsThinVolume() || snap.IsCOWSnapshot() || snap.Origin != "thin1" || snap.PoolLV != "pool" {
		t.Errorf("snap1 = %+v", snap)
	}
	// Thin snapshots are created with the activation skip flag, inactive,
	// and an inactive LV has no data_percent.
	if snap.Active || snap.DataPercent != 0 || !strings.HasSuffix(snap.Attr, "k") {
		t.Errorf("snap1 state = %+v", snap)
	}

	cow := lvs["cow1"]
	if !cow.IsCOWSnapshot() || cow.IsThinVolume() || cow.Origin != "thick1" || cow.Size != 32*mib || !cow.Active {
		t.Errorf("cow1 = %+v", cow)
	}

	foreign := lvs["foreign"]
	if foreign.Tags != nil || foreign.Origin != "" || foreign.IsCOWSnapshot() || foreign.IsThinVolume() || foreign.Size != 16*mib {
		t.Errorf("foreign = %+v", foreign)
	}
}

func TestParseLVsDropsHiddenSubLVs(t *testing.T) {
	visible := lvsByName(t, "lvs-all")
	all := lvsByName(t, "lvs-all-hidden") // lvs -a: [pool_tdata], [pool_tmeta], [lvol0_pmspare] too
	if !slices.Equal(slices.Sorted(maps.Keys(all)), slices.Sorted(maps.Keys(visible))) {
		t.Errorf("with -a: %q, without: %q", slices.Sorted(maps.Keys(all)), slices.Sorted(maps.Keys(visible)))
	}
	if !strings.Contains(readRecording(t, "lvs-all-hidden", "stdout"), "[pool_tdata]") {
		t.Fatal("recording lvs-all-hidden has no hidden LV to drop")
	}
}

func TestParseLVsThinSnapshotOutlivesOrigin(t *testing.T) {
	snap := lvsByName(t, "lvs-after-thin-origin")["snap1"]
	if snap.Origin != "" || !snap.IsThinVolume() || snap.DataPercent != 25 {
		t.Errorf("snap1 after its origin was removed = %+v", snap)
	}
}

func TestParseLVsActivatedThinSnapshot(t *testing.T) {
	if snap := lvsByName(t, "lvs-snapshot-after-plain-activate")["snap1"]; snap.Active {
		t.Errorf("snap1 after lvchange -ay without -K = %+v, want inactive", snap)
	}
	if snap := lvsByName(t, "lvs-snapshot-active")["snap1"]; !snap.Active || snap.DataPercent != 25 {
		t.Errorf("snap1 after lvchange -ay -K = %+v, want active", snap)
	}
}

func TestParseLVsEmpty(t *testing.T) {
	lvs, err := parseLVs([]byte(readRecording(t, "lvs-empty", "stdout")))
	if err != nil || len(lvs) != 0 {
		t.Errorf("parseLVs(lvs-empty) = %v, %v", lvs, err)
	}
}

func TestParseReportRejectsGarbage(t *testing.T) {
	for _, out := range []string{
		"  Volume group csivg not found",
		`{"report":[{"lv":[{"lv_name":"x","lv_size":"many"}]}]}`,
		`{"report":[{"lv":[{"lv_name":"x","lv_size":"1","data_percent":"lots"}]}]}`,
		`{"report":[{"vg":[{"vg_name":"x","vg_size":"-4"}]}]}`,
	} {
		_, lvErr := parseLVs([]byte(out))
		_, vgErr := parseVGs([]byte(out))
		if lvErr == nil && vgErr == nil {
			t.Errorf("%q parsed without error", out)
		}
	}
}

func TestParseBytesVariants(t *testing.T) {
	for in, want := range map[string]uint64{"4194304": 4194304, " 4194304B": 4194304, "4194304.00": 4194304, "0": 0} {
		if got, err := parseBytes("f", in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}
