package lvm

import (
	"errors"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
)

var sentinels = map[string]error{
	"ErrNotFound": ErrNotFound, "ErrVGNotFound": ErrVGNotFound, "ErrExists": ErrExists,
	"ErrNoSpace": ErrNoSpace, "ErrInUse": ErrInUse, "ErrHasDependents": ErrHasDependents, "ErrInvalid": ErrInvalid,
}

// assertOnly checks that err matches exactly the sentinels named in want.
func assertOnly(t *testing.T, what string, err error, want ...string) {
	t.Helper()
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w] = true
	}
	for name, sentinel := range sentinels {
		if got := errors.Is(err, sentinel); got != wanted[name] {
			t.Errorf("%s: errors.Is(%v, %s) = %v, want %v", what, err, name, got, wanted[name])
		}
	}
}

func TestClassifyRecordedStderr(t *testing.T) {
	for recording, want := range map[string][]string{
		"lvcreate-exists":                  {"ErrExists"},
		"lvcreate-nospace":                 {"ErrNoSpace"},
		"lvcreate-cow-snapshot-nospace":    {"ErrNoSpace"},
		"lvextend-nospace":                 {"ErrNoSpace"},
		"lvcreate-thin-threshold":          {"ErrNoSpace"},
		"lvcreate-thin-snapshot-threshold": {"ErrNoSpace"},
		"lvs-missing":                      {"ErrNotFound"},
		"lvremove-missing":                 {"ErrNotFound"},
		"lvchange-tags-missing":            {"ErrNotFound"},
		"lvchange-activate-missing":        {"ErrNotFound"},
		"lvextend-missing":                 {"ErrNotFound"},
		"lvcreate-snapshot-noorigin":       {"ErrNotFound"},
		"lvcreate-thin-nopool":             {"ErrNotFound"},
		"vgs-missing":                      {"ErrVGNotFound"},
		"lvs-missing-vg":                   {"ErrVGNotFound"},
		"lvremove-missing-vg":              {"ErrVGNotFound"},
		"lvremove-inuse":                   {"ErrInUse"},
		"lvremove-mounted":                 {"ErrInUse"},
		"lvextend-origin":                  {"ErrInUse", "ErrHasDependents"},
		"lvremove-prompt-cow-origin":       {"ErrInUse", "ErrHasDependents"},
		"lvremove-prompt-pool":             {"ErrInUse", "ErrHasDependents"},
		"lvchange-tags-invalid":            {"ErrInvalid"},
		"lvcreate-thin-zero":               {"ErrInvalid"},
		"lvcreate-snapshot-nosize":         {"ErrInvalid"},
		// lvremove without -y of an active LV: a refusal that says nothing
		// this package could name.
		"lvremove-prompt-active": nil,
	} {
		raw := recordedError(t, recording)
		err := classify(raw)
		assertOnly(t, recording, err, want...)
		var exitErr *runner.ExitError
		if !errors.As(err, &exitErr) || exitErr != raw {
			t.Errorf("%s: classified error %v does not unwrap to the command's ExitError", recording, err)
		}
	}
}

// libdevmapper's EBUSY on the remove ioctl cannot be produced at will; the
// line follows its format "device-mapper: %s ioctl on %s failed: %s".
func TestClassifyDeviceMapperBusy(t *testing.T) {
	err := classify(&runner.ExitError{ExitCode: 5, Stderr: "  device-mapper: remove ioctl on  (253:4) failed: Device or resource busy\n  Unable to deactivate csivg-foreign (253:4).\n"})
	assertOnly(t, "dm busy", err, "ErrInUse")
}

func TestClassifyLeavesOtherErrorsAlone(t *testing.T) {
	plain := errors.New("exec: lvs: not found in $PATH")
	if got := classify(plain); got != plain {
		t.Errorf("classify(%v) = %v", plain, got)
	}
}
