package lvm

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestListLVs(t *testing.T) {
	l := newTestLVM(t, recorded(t, "lvs-all", lvsArgv("csivg")...))
	lvs, err := l.ListLVs(context.Background(), "csivg")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, lv := range lvs {
		names = append(names, lv.Name)
	}
	if want := []string{"cow1", "cow2", "foreign", "pool", "snap1", "thick1", "thin1"}; !slices.Equal(names, want) {
		t.Errorf("ListLVs names = %q, want %q", names, want)
	}
}

func TestListLVsEmptyVG(t *testing.T) {
	l := newTestLVM(t, recorded(t, "lvs-empty", lvsArgv("csivg")...))
	lvs, err := l.ListLVs(context.Background(), "csivg")
	if err != nil || len(lvs) != 0 {
		t.Errorf("ListLVs(empty VG) = %v, %v", lvs, err)
	}
}

func TestListLVsMissingVG(t *testing.T) {
	l := newTestLVM(t, recorded(t, "lvs-missing-vg", lvsArgv("nosuchvg")...))
	_, err := l.ListLVs(context.Background(), "nosuchvg")
	if !errors.Is(err, ErrVGNotFound) || errors.Is(err, ErrNotFound) {
		t.Errorf("ListLVs(missing VG) = %v, want ErrVGNotFound only", err)
	}
}

func TestGetLV(t *testing.T) {
	l := newTestLVM(t, recorded(t, "lvs-one", lvsArgv("csivg/thick1")...))
	lv, err := l.GetLV(context.Background(), "csivg", "thick1")
	if err != nil {
		t.Fatal(err)
	}
	if lv.Name != "thick1" || lv.VG != "csivg" || lv.Size != 64*mib || lv.Path != "/dev/csivg/thick1" {
		t.Errorf("GetLV = %+v", lv)
	}
}

func TestGetLVMissing(t *testing.T) {
	l := newTestLVM(t, recorded(t, "lvs-missing", lvsArgv("csivg/nosuch")...))
	if _, err := l.GetLV(context.Background(), "csivg", "nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetLV(missing) = %v, want ErrNotFound", err)
	}
}

func TestGetLVRejectsBadNames(t *testing.T) {
	l := newTestLVM(t)
	for _, pair := range [][2]string{{"csivg", "-y"}, {"csivg", "a/b"}, {"", "x"}, {"csivg", "x_tdata"}} {
		if _, err := l.GetLV(context.Background(), pair[0], pair[1]); !errors.Is(err, ErrInvalid) {
			t.Errorf("GetLV(%q, %q) = %v, want ErrInvalid", pair[0], pair[1], err)
		}
	}
}
