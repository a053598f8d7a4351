package lvm

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

var thickArgv = runnertest.Argv("lvcreate -y --wipesignatures y -Zy -n thick1 -L 67108864b --addtag csi.name=pvc-0001 --addtag lvm-iscsi-csi csivg")

func TestCreateLVThick(t *testing.T) {
	l := newTestLVM(t,
		recorded(t, "lvcreate-thick", thickArgv...),
		recorded(t, "lvs-created-thick", lvsArgv("csivg/thick1")...),
	)
	lv, err := l.CreateLV(context.Background(), "csivg", CreateOptions{Name: "thick1", Size: 64 * mib, Tags: []string{"csi.name=pvc-0001", "lvm-iscsi-csi"}})
	if err != nil {
		t.Fatal(err)
	}
	if lv.Name != "thick1" || lv.Size != 64*mib || !lv.Active || lv.IsThinVolume() || !slices.Equal(lv.Tags, []string{"csi.name=pvc-0001", "lvm-iscsi-csi"}) {
		t.Errorf("CreateLV = %+v", lv)
	}
}

func TestCreateLVThin(t *testing.T) {
	l := newTestLVM(t,
		recorded(t, "lvcreate-thin", runnertest.Argv("lvcreate -y --wipesignatures y -n thin1 -V 134217728b --thinpool pool --addtag csi.name=pvc-0002 --addtag lvm-iscsi-csi csivg")...),
		recorded(t, "lvs-created-thin", lvsArgv("csivg/thin1")...),
	)
	lv, err := l.CreateLV(context.Background(), "csivg", CreateOptions{Name: "thin1", Size: 128 * mib, ThinPool: "pool", Tags: []string{"csi.name=pvc-0002", "lvm-iscsi-csi"}})
	if err != nil {
		t.Fatal(err)
	}
	if !lv.IsThinVolume() || lv.PoolLV != "pool" || lv.Size != 128*mib || !lv.Active {
		t.Errorf("CreateLV(thin) = %+v", lv)
	}
}

func TestCreateLVErrors(t *testing.T) {
	for _, tc := range []struct {
		recording string
		argv      string
		opts      CreateOptions
		want      error
	}{
		{"lvcreate-exists", "lvcreate -y --wipesignatures y -Zy -n thick1 -L 67108864b csivg", CreateOptions{Name: "thick1", Size: 64 * mib}, ErrExists},
		{"lvcreate-nospace", "lvcreate -y --wipesignatures y -Zy -n huge -L 10737418240b csivg", CreateOptions{Name: "huge", Size: 10 << 30}, ErrNoSpace},
		{"lvcreate-thin-nopool", "lvcreate -y --wipesignatures y -n thin9 -V 8388608b --thinpool nopool csivg", CreateOptions{Name: "thin9", Size: 8 * mib, ThinPool: "nopool"}, ErrNotFound},
	} {
		l := newTestLVM(t, recorded(t, tc.recording, runnertest.Argv(tc.argv)...))
		if _, err := l.CreateLV(context.Background(), "csivg", tc.opts); !errors.Is(err, tc.want) {
			t.Errorf("%s: CreateLV = %v, want %v", tc.recording, err, tc.want)
		}
	}
}

func TestCreateLVValidatesBeforeRunning(t *testing.T) {
	l := newTestLVM(t)
	for _, opts := range []CreateOptions{
		{Name: "v", Size: 0},
		{Name: "-v", Size: mib},
		{Name: "v", Size: mib, Tags: []string{"bad tag"}},
		{Name: "v", Size: mib, ThinPool: "--help"},
	} {
		if _, err := l.CreateLV(context.Background(), "csivg", opts); !errors.Is(err, ErrInvalid) {
			t.Errorf("CreateLV(%+v) = %v, want ErrInvalid", opts, err)
		}
	}
}

func TestCreateSnapshotThin(t *testing.T) {
	l := newTestLVM(t,
		recorded(t, "lvcreate-thin-snapshot", runnertest.Argv("lvcreate -y -n snap1 -s csivg/thin1 --addtag csi.snapshot=snap-0001 --addtag lvm-iscsi-csi")...),
		recorded(t, "lvs-created-thin-snapshot", lvsArgv("csivg/snap1")...),
	)
	lv, err := l.CreateSnapshot(context.Background(), "csivg", "thin1", CreateOptions{Name: "snap1", ThinPool: "ignored", Tags: []string{"csi.snapshot=snap-0001", "lvm-iscsi-csi"}})
	if err != nil {
		t.Fatal(err)
	}
	if !lv.IsThinVolume() || lv.Origin != "thin1" || lv.Active {
		t.Errorf("CreateSnapshot(thin) = %+v", lv)
	}
}

func TestCreateSnapshotCOW(t *testing.T) {
	l := newTestLVM(t,
		recorded(t, "lvcreate-cow-snapshot", runnertest.Argv("lvcreate -y -n cow1 -s -L 33554432b csivg/thick1 --addtag csi.snapshot=snap-0002 --addtag lvm-iscsi-csi")...),
		recorded(t, "lvs-created-cow-snapshot", lvsArgv("csivg/cow1")...),
	)
	lv, err := l.CreateSnapshot(context.Background(), "csivg", "thick1", CreateOptions{Name: "cow1", Size: 32 * mib, Tags: []string{"csi.snapshot=snap-0002", "lvm-iscsi-csi"}})
	if err != nil {
		t.Fatal(err)
	}
	if !lv.IsCOWSnapshot() || lv.Origin != "thick1" || lv.Size != 32*mib || !lv.Active {
		t.Errorf("CreateSnapshot(COW) = %+v", lv)
	}
}

func TestCreateSnapshotErrors(t *testing.T) {
	for _, tc := range []struct {
		recording, argv, origin string
		opts                    CreateOptions
		want                    error
	}{
		// A thin snapshot (no size) of a thick origin.
		{"lvcreate-snapshot-nosize", "lvcreate -y -n snapx -s csivg/thick1", "thick1", CreateOptions{Name: "snapx"}, ErrInvalid},
		{"lvcreate-snapshot-noorigin", "lvcreate -y -n snapy -s csivg/nosuch", "nosuch", CreateOptions{Name: "snapy"}, ErrNotFound},
		{"lvcreate-cow-snapshot-nospace", "lvcreate -y -n cow3 -s -L 465567744b csivg/big", "big", CreateOptions{Name: "cow3", Size: 465567744}, ErrNoSpace},
		{"lvcreate-thin-snapshot-threshold", "lvcreate -y -n snap4 -s csivg/fill", "fill", CreateOptions{Name: "snap4"}, ErrNoSpace},
	} {
		l := newTestLVM(t, recorded(t, tc.recording, runnertest.Argv(tc.argv)...))
		if _, err := l.CreateSnapshot(context.Background(), "csivg", tc.origin, tc.opts); !errors.Is(err, tc.want) {
			t.Errorf("%s: CreateSnapshot = %v, want %v", tc.recording, err, tc.want)
		}
	}
}

// CreateLVNoReport runs lvcreate and nothing else (newTestLVM fails on any
// other command). The LV it makes has the size asked for: lvs-created-thin
// and lvs-created-thick report exactly the -V / -L given, whole extents.
func TestCreateLVNoReportRunsOnlyLvcreate(t *testing.T) {
	l := newTestLVM(t,
		recorded(t, "lvcreate-thin", runnertest.Argv("lvcreate -y --wipesignatures y -n thin1 -V 134217728b --thinpool pool --addtag csi.name=pvc-0002 --addtag lvm-iscsi-csi csivg")...),
		recorded(t, "lvcreate-nospace", runnertest.Argv("lvcreate -y --wipesignatures y -Zy -n huge -L 10737418240b csivg")...),
	)
	if err := l.CreateLVNoReport(context.Background(), "csivg", CreateOptions{Name: "thin1", Size: 128 * mib, ThinPool: "pool", Tags: []string{"csi.name=pvc-0002", "lvm-iscsi-csi"}}); err != nil {
		t.Fatal(err)
	}
	if err := l.CreateLVNoReport(context.Background(), "csivg", CreateOptions{Name: "huge", Size: 10 << 30}); !errors.Is(err, ErrNoSpace) {
		t.Errorf("CreateLVNoReport on a full VG = %v, want ErrNoSpace", err)
	}
}

func TestCreateSnapshotNoReportRunsOnlyLvcreate(t *testing.T) {
	l := newTestLVM(t,
		recorded(t, "lvcreate-thin-snapshot", runnertest.Argv("lvcreate -y -n snap1 -s csivg/thin1 --addtag csi.snapshot=snap-0001 --addtag lvm-iscsi-csi")...),
	)
	if err := l.CreateSnapshotNoReport(context.Background(), "csivg", "thin1", CreateOptions{Name: "snap1", Tags: []string{"csi.snapshot=snap-0001", "lvm-iscsi-csi"}}); err != nil {
		t.Fatal(err)
	}
}
