package lvmfake

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

const mib = 1 << 20

var ctx = context.Background()

// recordedReport reads one of pkg/lvm's real lvs/vgs recordings, made by
// ../testdata/record.sh.
func recordedReport(t *testing.T, name string) []map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name+".stdout"))
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Report []map[string][]map[string]string `json:"report"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	for _, part := range r.Report {
		for _, rs := range part {
			rows = append(rows, rs...)
		}
	}
	return rows
}

func mustUint(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// newRecordedScene builds in the fake what record.sh built in lvm before
// its lvs-all and vgs-used recordings.
func newRecordedScene(t *testing.T) *Fake {
	t.Helper()
	fresh := recordedReport(t, "vgs-fresh")[0]
	f := New("csivg", mustUint(t, fresh["vg_size"]), mustUint(t, fresh["vg_extent_size"]))
	steps := []func() error{
		func() error {
			_, err := f.CreateLV(ctx, "csivg", lvm.CreateOptions{Name: "thick1", Size: 64 * mib, Tags: []string{"csi.name=pvc-0001", "lvm-iscsi-csi"}})
			return err
		},
		func() error {
			_, err := f.CreateLV(ctx, "csivg", lvm.CreateOptions{Name: "foreign", Size: 16 * mib})
			return err
		},
		func() error { return f.AddThinPool("pool", 256*mib) },
		func() error {
			_, err := f.CreateLV(ctx, "csivg", lvm.CreateOptions{Name: "thin1", Size: 128 * mib, ThinPool: "pool", Tags: []string{"lvm-iscsi-csi", "csi.name=pvc-0002"}})
			return err
		},
		func() error {
			_, err := f.CreateSnapshot(ctx, "csivg", "thin1", lvm.CreateOptions{Name: "snap1", Tags: []string{"csi.snapshot=snap-0001", "lvm-iscsi-csi"}})
			return err
		},
		func() error {
			_, err := f.CreateSnapshot(ctx, "csivg", "thick1", lvm.CreateOptions{Name: "cow1", Size: 32 * mib, Tags: []string{"csi.snapshot=snap-0002", "lvm-iscsi-csi"}})
			return err
		},
		// lvm trimmed record.sh's 10 GiB request to the 68 MiB the origin can use.
		func() error {
			_, err := f.CreateSnapshot(ctx, "csivg", "thick1", lvm.CreateOptions{Name: "cow2", Size: 68 * mib})
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	return f
}

func TestFakeMatchesRecordedLVM(t *testing.T) {
	f := newRecordedScene(t)
	vg, err := f.GetVG(ctx, "csivg")
	if err != nil {
		t.Fatal(err)
	}
	if want := mustUint(t, recordedReport(t, "vgs-used")[0]["vg_free"]); vg.Free != want {
		t.Errorf("fake VG free = %d, lvm had %d", vg.Free, want)
	}
	lvs, err := f.ListLVs(ctx, "csivg")
	if err != nil {
		t.Fatal(err)
	}
	rows := recordedReport(t, "lvs-all")
	if len(lvs) != len(rows) {
		t.Fatalf("fake has %d LVs, lvm had %d", len(lvs), len(rows))
	}
	for i, row := range rows { // both sorted by name
		lv := lvs[i]
		got := []string{lv.Name, lv.Attr, strings.Join(lv.Tags, ","), lv.PoolLV, lv.Origin, lv.Path, strconv.FormatUint(lv.Size, 10)}
		want := []string{row["lv_name"], row["lv_attr"], row["lv_tags"], row["pool_lv"], row["origin"], row["lv_path"], row["lv_size"]}
		if !slices.Equal(got, want) {
			t.Errorf("fake LV %q, lvm had %q", got, want)
		}
	}
}

func TestFakeCreateErrors(t *testing.T) {
	f := newRecordedScene(t)
	for _, tc := range []struct {
		what string
		err  error
		want error
	}{
		{"exists", create(f, lvm.CreateOptions{Name: "thick1", Size: mib}), lvm.ErrExists},
		{"no space", create(f, lvm.CreateOptions{Name: "huge", Size: 10 << 30}), lvm.ErrNoSpace},
		{"no pool", create(f, lvm.CreateOptions{Name: "t", Size: mib, ThinPool: "nopool"}), lvm.ErrNotFound},
		{"thick LV as pool", create(f, lvm.CreateOptions{Name: "t", Size: mib, ThinPool: "foreign"}), lvm.ErrNotFound},
		{"size 0", create(f, lvm.CreateOptions{Name: "t"}), lvm.ErrInvalid},
		{"bad tag", create(f, lvm.CreateOptions{Name: "t", Size: mib, Tags: []string{"a,b"}}), lvm.ErrInvalid},
		{"bad name", create(f, lvm.CreateOptions{Name: "x_tdata", Size: mib}), lvm.ErrInvalid},
		{"thin snapshot of thick", snapshot(f, "thick1", lvm.CreateOptions{Name: "s"}), lvm.ErrInvalid},
		{"snapshot of missing", snapshot(f, "nosuch", lvm.CreateOptions{Name: "s", Size: mib}), lvm.ErrNotFound},
		{"snapshot name taken", snapshot(f, "thin1", lvm.CreateOptions{Name: "cow1"}), lvm.ErrExists},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.what, tc.err, tc.want)
		}
	}
	// As lvcreate does (testdata/lvcreate-cow-snapshot-oversize), a COW
	// snapshot asked larger than useful is trimmed, not refused.
	origin, err := f.GetLV(context.Background(), "csivg", "thick1")
	if err != nil {
		t.Fatal(err)
	}
	big, err := f.CreateSnapshot(context.Background(), "csivg", "thick1", lvm.CreateOptions{Name: "big", Size: 10 << 30})
	if err != nil {
		t.Fatalf("oversized COW snapshot: %v", err)
	}
	if want := (lvm.COWSize(origin.Size) + 4*mib - 1) / (4 * mib) * (4 * mib); big.Size != want {
		t.Errorf("oversized COW snapshot is %d bytes, want lvm's maximum usable %d", big.Size, want)
	}
}

func create(f *Fake, opts lvm.CreateOptions) error {
	_, err := f.CreateLV(ctx, "csivg", opts)
	return err
}

func snapshot(f *Fake, origin string, opts lvm.CreateOptions) error {
	_, err := f.CreateSnapshot(ctx, "csivg", origin, opts)
	return err
}

func TestFakeRoundsToExtents(t *testing.T) {
	f := New("vg", 100*mib, 4*mib)
	lv, err := f.CreateLV(ctx, "vg", lvm.CreateOptions{Name: "a", Size: mib})
	if err != nil {
		t.Fatal(err)
	}
	vg, _ := f.GetVG(ctx, "vg")
	if lv.Size != 4*mib || vg.Free != 96*mib || vg.Size != 100*mib {
		t.Errorf("1 MiB LV: size %d, VG %+v", lv.Size, vg)
	}
}

func TestFakeWrongVG(t *testing.T) {
	f := New("vg", 100*mib, 0)
	if _, err := f.GetVG(ctx, "other"); !errors.Is(err, lvm.ErrNotFound) || !errors.Is(err, lvm.ErrVGNotFound) {
		t.Errorf("GetVG(other) = %v", err)
	}
	// As with lvm, an LV call on a missing VG is not "LV already gone".
	if err := f.RemoveLV(ctx, "other", "a"); !errors.Is(err, lvm.ErrVGNotFound) || errors.Is(err, lvm.ErrNotFound) {
		t.Errorf("RemoveLV(other/a) = %v", err)
	}
	if _, err := f.ListLVs(ctx, "other"); !errors.Is(err, lvm.ErrVGNotFound) {
		t.Errorf("ListLVs(other) = %v", err)
	}
}

func TestFakeRemoveMirrorsLVM(t *testing.T) {
	f := newRecordedScene(t)
	for _, name := range []string{"thick1", "pool"} {
		if err := f.RemoveLV(ctx, "csivg", name); !errors.Is(err, lvm.ErrHasDependents) || !errors.Is(err, lvm.ErrInUse) {
			t.Errorf("RemoveLV(%s) = %v, want ErrHasDependents", name, err)
		}
	}
	if err := f.RemoveLV(ctx, "csivg", "nosuch"); !errors.Is(err, lvm.ErrNotFound) {
		t.Errorf("RemoveLV(nosuch) = %v", err)
	}

	// A thin origin goes alone; its snapshot stays without an origin, as in
	// testdata/lvs-after-thin-origin.
	if err := f.RemoveLV(ctx, "csivg", "thin1"); err != nil {
		t.Fatal(err)
	}
	snap, err := f.GetLV(ctx, "csivg", "snap1")
	if err != nil || snap.Origin != "" || !snap.IsThinVolume() {
		t.Errorf("snap1 after its origin went = %+v, %v", snap, err)
	}

	// Snapshots first, then the origin is an ordinary LV again.
	for _, name := range []string{"cow1", "cow2"} {
		if err := f.RemoveLV(ctx, "csivg", name); err != nil {
			t.Fatal(err)
		}
	}
	thick, _ := f.GetLV(ctx, "csivg", "thick1")
	if thick.Attr != "-wi-a-----" {
		t.Errorf("thick1 without snapshots: attr %q", thick.Attr)
	}
	for _, name := range []string{"thick1", "snap1", "pool", "foreign"} {
		if err := f.RemoveLV(ctx, "csivg", name); err != nil {
			t.Fatalf("RemoveLV(%s) = %v", name, err)
		}
	}
	vg, _ := f.GetVG(ctx, "csivg")
	if lvs, _ := f.ListLVs(ctx, "csivg"); len(lvs) != 0 || vg.Free != vg.Size {
		t.Errorf("after removing everything: %v, VG %+v", lvs, vg)
	}
}

func TestFakeExtendLV(t *testing.T) {
	f := newRecordedScene(t)
	before, _ := f.GetVG(ctx, "csivg")
	if err := f.ExtendLV(ctx, "csivg", "foreign", 8*mib); err != nil {
		t.Errorf("shrinking request = %v, want no-op", err)
	}
	if err := f.ExtendLV(ctx, "csivg", "foreign", 32*mib); err != nil {
		t.Fatal(err)
	}
	lv, _ := f.GetLV(ctx, "csivg", "foreign")
	after, _ := f.GetVG(ctx, "csivg")
	if lv.Size != 32*mib || before.Free-after.Free != 16*mib {
		t.Errorf("after growing 16 to 32 MiB: size %d, free %d -> %d", lv.Size, before.Free, after.Free)
	}
	// Thin LVs may outgrow their pool, as lvm allows with a warning.
	if err := f.ExtendLV(ctx, "csivg", "thin1", 1<<30); err != nil {
		t.Errorf("thin over-provisioning = %v", err)
	}
	if err := f.ExtendLV(ctx, "csivg", "foreign", 10<<30); !errors.Is(err, lvm.ErrNoSpace) {
		t.Errorf("too big = %v", err)
	}
	if err := f.ExtendLV(ctx, "csivg", "thick1", 128*mib); !errors.Is(err, lvm.ErrHasDependents) {
		t.Errorf("COW origin = %v", err)
	}
	if err := f.ExtendLV(ctx, "csivg", "nosuch", mib); !errors.Is(err, lvm.ErrNotFound) {
		t.Errorf("missing = %v", err)
	}
}

func TestFakeFullThinPoolStillTakesThinLVs(t *testing.T) {
	f := newRecordedScene(t)
	if err := f.SetDataPercent("pool", 100); err != nil {
		t.Fatal(err)
	}
	// lvm's default threshold (100) never refuses (testdata/lvcreate-thin-poolfull).
	if err := create(f, lvm.CreateOptions{Name: "t1", Size: mib, ThinPool: "pool"}); err != nil {
		t.Errorf("full pool, default threshold: %v", err)
	}
	if err := snapshot(f, "thin1", lvm.CreateOptions{Name: "s2"}); err != nil {
		t.Errorf("thin snapshot in a full pool: %v", err)
	}
	if got, _ := f.GetLV(ctx, "csivg", "pool"); got.DataPercent != 100 {
		t.Errorf("pool DataPercent = %v", got.DataPercent)
	}
}

func TestFakeTagsAndActivation(t *testing.T) {
	f := newRecordedScene(t)
	if err := f.ChangeTags(ctx, "csivg", "thick1", []string{"csi.published=node-1"}, []string{"lvm-iscsi-csi", "absent"}); err != nil {
		t.Fatal(err)
	}
	thick, _ := f.GetLV(ctx, "csivg", "thick1")
	// The same change as testdata/lvs-tags, which lvm printed this way.
	if want := recordedReport(t, "lvs-tags")[0]["lv_tags"]; strings.Join(thick.Tags, ",") != want {
		t.Errorf("tags = %q, lvm had %q", thick.Tags, want)
	}
	if err := f.ChangeTags(ctx, "csivg", "thick1", []string{"bad tag"}, nil); !errors.Is(err, lvm.ErrInvalid) {
		t.Errorf("bad tag = %v", err)
	}
	// Returned LVs are copies.
	thick.Tags[0] = "mutated"
	if again, _ := f.GetLV(ctx, "csivg", "thick1"); again.Tags[0] == "mutated" {
		t.Error("GetLV returned the fake's own tag slice")
	}

	snap, _ := f.GetLV(ctx, "csivg", "snap1")
	if snap.Active {
		t.Fatalf("new thin snapshot active: %+v", snap)
	}
	if err := f.Activate(ctx, "csivg", "snap1"); err != nil {
		t.Fatal(err)
	}
	snap, _ = f.GetLV(ctx, "csivg", "snap1")
	if want := recordedReport(t, "lvs-snapshot-active")[0]["lv_attr"]; !snap.Active || snap.Attr != want {
		t.Errorf("activated snapshot = %+v, lvm had attr %q", snap, want)
	}
	if err := f.Activate(ctx, "csivg", "nosuch"); !errors.Is(err, lvm.ErrNotFound) {
		t.Errorf("Activate(nosuch) = %v", err)
	}
}

func TestFakeFailNext(t *testing.T) {
	f := New("vg", 100*mib, 0)
	injected := errors.New("injected")
	f.FailNext("CreateLV", injected)
	f.FailNext("CreateLV", lvm.ErrNoSpace)
	if err := createIn(f, "a"); err != injected {
		t.Errorf("first CreateLV = %v, want the injected error", err)
	}
	if err := createIn(f, "a"); !errors.Is(err, lvm.ErrNoSpace) {
		t.Errorf("second CreateLV = %v, want ErrNoSpace", err)
	}
	if _, err := f.GetLV(ctx, "vg", "a"); !errors.Is(err, lvm.ErrNotFound) {
		t.Errorf("a failed CreateLV left an LV behind: %v", err)
	}
	if err := createIn(f, "a"); err != nil {
		t.Errorf("third CreateLV = %v", err)
	}
	if n := f.Calls("CreateLV"); n != 3 {
		t.Errorf("Calls(CreateLV) = %d", n)
	}
	if n := f.Calls("RemoveLV"); n != 0 {
		t.Errorf("Calls(RemoveLV) = %d", n)
	}
}

func createIn(f *Fake, name string) error {
	_, err := f.CreateLV(ctx, "vg", lvm.CreateOptions{Name: name, Size: 4 * mib})
	return err
}
