package lvm

import (
	"context"
	"errors"
	"testing"
)

func TestGetVG(t *testing.T) {
	l := newTestLVM(t, recorded(t, "vgs-fresh", vgsArgv("csivg")...))
	vg, err := l.GetVG(context.Background(), "csivg")
	if err != nil {
		t.Fatal(err)
	}
	if vg.Name != "csivg" || vg.Size == 0 || vg.Free != vg.Size || vg.ExtentSize != 4*mib {
		t.Errorf("GetVG = %+v", vg)
	}
}

func TestGetVGMissing(t *testing.T) {
	l := newTestLVM(t, recorded(t, "vgs-missing", vgsArgv("nosuchvg")...))
	_, err := l.GetVG(context.Background(), "nosuchvg")
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrVGNotFound) {
		t.Errorf("GetVG(missing) = %v, want ErrNotFound and ErrVGNotFound", err)
	}
}

func TestGetVGRejectsOptionLikeName(t *testing.T) {
	l := newTestLVM(t) // no command may run
	if _, err := l.GetVG(context.Background(), "--all"); !errors.Is(err, ErrInvalid) {
		t.Errorf("GetVG(--all) = %v, want ErrInvalid", err)
	}
}
