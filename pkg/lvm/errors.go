package lvm

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
)

// Sentinel errors. Failed commands come back as an error that matches one of
// these with errors.Is and still unwraps to the *runner.ExitError with lvm's
// own message; callers map them (pkg/driver to gRPC codes).
var (
	// ErrNotFound: the LV (or the origin, or the thin pool named) does not exist.
	ErrNotFound = errors.New("lvm: not found")
	// ErrVGNotFound: the volume group itself does not exist. It is kept apart
	// from ErrNotFound for LV operations so that a missing or misnamed VG is
	// never mistaken for "volume already deleted"; GetVG matches both.
	ErrVGNotFound = errors.New("lvm: volume group not found")
	// ErrExists: an LV of that name is already in the VG.
	ErrExists = errors.New("lvm: already exists")
	// ErrNoSpace: not enough free extents in the VG, or a thin pool past the
	// administrator's activation/thin_pool_autoextend_threshold.
	ErrNoSpace = errors.New("lvm: insufficient space")
	// ErrInUse: the LV's device is open (a mount, tgtd, udev's probe) or the
	// LV has dependents (see ErrHasDependents).
	ErrInUse = errors.New("lvm: in use")
	// ErrHasDependents: the LV is the origin of COW snapshots or a thin pool
	// holding thin LVs; lvm would take them along or refuses. It matches
	// ErrInUse too, but retrying does not help.
	ErrHasDependents = fmt.Errorf("%w: has dependent snapshots or thin volumes", ErrInUse)
	// ErrInvalid: a name, tag, size or option lvm (or this package) rejects.
	ErrInvalid = errors.New("lvm: invalid argument")
)

// exitInvalidCommandLine is lvm's EINVALID_CMD_LINE exit code: the arguments
// were rejected before anything was looked at.
const exitInvalidCommandLine = 3

var vgNotFound = regexp.MustCompile(`Volume group "[^"]*" not found`)

// stderrClasses maps lvm 2.03 messages (recorded in testdata/*.stderr) to
// sentinels. Order matters: the VG message also says "not found", and
// ErrHasDependents messages must win over the generic ones.
var stderrClasses = []struct {
	substr string
	err    error
}{
	{"already exists", ErrExists},
	{"insufficient free space", ErrNoSpace},   // "Volume group "vg" has insufficient free space (N extents): M required."
	{"insufficient free extents", ErrNoSpace}, // older lvm2 wording
	{"cannot create new thin volume", ErrNoSpace},
	{"snapshot origin volumes can be resized only while inactive", ErrHasDependents},
	{"dependent volume(s)", ErrHasDependents},
	{"snapshots(s)?", ErrHasDependents},
	// Narrow on purpose: a warning about some missing device must not make
	// a failed lvremove look like "already gone".
	{"failed to find logical volume", ErrNotFound},
	{"not found in volume group", ErrNotFound}, // an LV, a snapshot origin, a thin pool
	{"in use", ErrInUse},
	// libdevmapper's remove ioctl failing with EBUSY: udev or blkid still
	// holds the device for a moment after the last close.
	{"device or resource busy", ErrInUse},
	{"invalid argument", ErrInvalid},
	// lvconvert --splitsnapshot on an LV that is not a COW snapshot:
	// "Command on LV vg/lv does not accept LV type linear."
	{"does not accept lv type", ErrInvalid},
	{"please specify either size or extents with snapshots", ErrInvalid},
}

// classify turns a failed lvm command into an error matching the sentinel
// its message stands for. Errors it cannot place are returned as they are.
func classify(err error) error {
	var exitErr *runner.ExitError
	if !errors.As(err, &exitErr) {
		return err
	}
	if vgNotFound.MatchString(exitErr.Stderr) {
		return fmt.Errorf("%w: %w", ErrVGNotFound, err)
	}
	stderr := strings.ToLower(exitErr.Stderr)
	for _, c := range stderrClasses {
		if strings.Contains(stderr, c.substr) {
			return fmt.Errorf("%w: %w", c.err, err)
		}
	}
	if exitErr.ExitCode == exitInvalidCommandLine {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}
