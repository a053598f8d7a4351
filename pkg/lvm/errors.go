package lvm

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/toolerr"
)

// tool starts the messages of this package's errors.
const tool = "lvm"

// Sentinel errors. Every failure of this package is a *toolerr.Error that
// matches the sentinels its lvm message stands for with errors.Is and still
// unwraps to the *runner.ExitError with lvm's own message; callers map
// them (pkg/driver to gRPC codes). The shared ones are toolerr's under this
// package's names, so they are the same values as tgt's and iscsi's.
var (
	// ErrNotFound: the LV (or the origin, or the thin pool named) does not
	// exist. It is toolerr.ErrNotFound.
	ErrNotFound = toolerr.ErrNotFound
	// ErrVGNotFound: the volume group itself does not exist. It is kept apart
	// from ErrNotFound for LV operations so that a missing or misnamed VG is
	// never mistaken for "volume already deleted"; GetVG matches both.
	ErrVGNotFound = errors.New("volume group not found")
	// ErrExists: an LV of that name is already in the VG.
	ErrExists = toolerr.ErrExists
	// ErrNoSpace: not enough free extents in the VG, a thin pool past the
	// administrator's activation/thin_pool_autoextend_threshold, or the
	// VG's metadata area full (every LV and tag is in it; docs/install.md).
	ErrNoSpace = toolerr.ErrNoSpace
	// ErrInUse: the LV's device is open (a mount, tgtd, udev's probe) or the
	// LV has dependents (see ErrHasDependents).
	ErrInUse = toolerr.ErrInUse
	// ErrHasDependents: the LV is the origin of COW snapshots or a thin pool
	// holding thin LVs; lvm would take them along or refuses. It matches
	// ErrInUse too, but retrying does not help.
	ErrHasDependents = fmt.Errorf("%w: has dependent snapshots or thin volumes", ErrInUse)
	// ErrInvalid: a name, tag, size or option lvm (or this package) rejects.
	ErrInvalid = toolerr.ErrInvalid
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
	// "VG vg 300 metadata on /dev/sdb (522364 bytes) exceeds maximum
	// metadata size (521472 bytes)": the PV's metadata area cannot hold
	// another LV or tag; nothing was changed.
	{"exceeds maximum metadata size", ErrNoSpace},
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

// classify turns err, the failure of the lvm command doing op, into a
// *toolerr.Error whose Kinds are the sentinel its message stands for (none
// when it says nothing recognisable).
func classify(op string, err error) *toolerr.Error {
	e := &toolerr.Error{Tool: tool, Op: op, Err: err}
	var exitErr *runner.ExitError
	if !errors.As(err, &exitErr) {
		return e
	}
	if vgNotFound.MatchString(exitErr.Stderr) {
		e.Kinds = []error{ErrVGNotFound}
		return e
	}
	stderr := strings.ToLower(exitErr.Stderr)
	for _, c := range stderrClasses {
		if strings.Contains(stderr, c.substr) {
			e.Kinds = []error{c.err}
			return e
		}
	}
	if exitErr.ExitCode == exitInvalidCommandLine {
		e.Kinds = []error{ErrInvalid}
	}
	return e
}

// fail is a failure of op this package judged itself, before or after
// running lvm: kind, and what it saw.
func fail(op string, kind error, format string, args ...any) error {
	return &toolerr.Error{Tool: tool, Op: op, Kinds: []error{kind}, Err: fmt.Errorf(format, args...)}
}
