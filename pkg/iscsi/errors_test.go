package iscsi

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/toolerr"
)

// The shared sentinels are toolerr's; the node's own meanings are not, so
// a device or serial problem is never taken for a tool's "not found".
func TestSentinels(t *testing.T) {
	for name, pair := range map[string][2]error{
		"ErrNotFound":          {ErrNotFound, toolerr.ErrNotFound},
		"ErrDaemonUnavailable": {ErrDaemonUnavailable, toolerr.ErrUnavailable},
		"ErrInvalidArgument":   {ErrInvalidArgument, toolerr.ErrInvalid},
	} {
		if pair[0] != pair[1] {
			t.Errorf("iscsi.%s is not toolerr's", name)
		}
	}
	own := []error{ErrLoginFailed, ErrAuthFailed, ErrDeviceNotFound, ErrSerialMismatch}
	shared := []error{toolerr.ErrNotFound, toolerr.ErrExists, toolerr.ErrNoSpace, toolerr.ErrInUse, toolerr.ErrInvalid, toolerr.ErrUnavailable}
	for _, o := range own {
		for _, s := range shared {
			if errors.Is(o, s) {
				t.Errorf("%v matches the shared %v", o, s)
			}
		}
	}
}

// A failed iscsiadm call is a *toolerr.Error of iscsi naming the
// operation.
func TestFailedCommandHasTheSharedShape(t *testing.T) {
	a := newTestIscsiadm(t, recorded(t, "rescan_missing"))
	err := a.Rescan(context.Background(), 1)
	var te *toolerr.Error
	if !errors.As(err, &te) || te.Tool != "iscsi" || !strings.HasPrefix(err.Error(), "iscsi: rescanning iSCSI session 1: ") {
		t.Errorf("Rescan of a gone session = %q (%T)", err, err)
	}
}
