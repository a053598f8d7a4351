// Package toolerr is the one shape of error the packages that drive
// external tools (pkg/lvm, pkg/tgt, pkg/iscsi) return, and the sentinels
// they share.
//
// Callers do two things with such an error: decide (errors.Is against a
// sentinel: is the volume gone, is there no space, is the daemon down) and
// report (the message, which must keep the tool's own words). Before this
// package each tool package had its own error type and its own copy of
// "not found", "already exists" and so on, so a caller had to know every
// package's spelling, and a wrapping caller could lose the cause. Now a
// failed operation is an *Error that says which tool, what it was doing,
// which sentinels it matches, and why: usually the *runner.ExitError with
// the command line, exit code and stderr (secrets masked), which
// errors.As finds through it.
//
// Each tool package still classifies its own tool's output (the stderr
// texts and exit codes are that tool's, replayed from its testdata), gives
// the shared sentinels its own names (lvm.ErrNotFound is ErrNotFound), and
// keeps meanings that belong to one tool as its own sentinels
// (lvm.ErrVGNotFound, iscsi.ErrAuthFailed, ...).
//
// A shared sentinel says what happened, not to which object: tgt's "not
// found" and lvm's are the same value. A caller that reads "not found" as
// "already deleted" must test it on the result of the one call it means,
// never on an error that may carry another tool's failure.
package toolerr

import (
	"errors"
	"strings"
)

// The shared sentinels. Every *Error matches the ones in its Kinds, and a
// tool package's own sentinels may wrap one of these (lvm.ErrHasDependents
// matches ErrInUse).
var (
	// ErrNotFound: the object the operation names (a logical volume, a
	// target, LUN, account or binding, a session, a node record) does not
	// exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: the object the operation would create is already there.
	ErrExists = errors.New("already exists")
	// ErrNoSpace: the tool refused for lack of space (free extents in a
	// volume group, a thin pool past its threshold). Retrying does not help
	// until space is made.
	ErrNoSpace = errors.New("insufficient space")
	// ErrInUse: the object is busy: a device still open, a target with
	// initiators logged in. It may pass by itself; a more specific
	// sentinel says when it will not (lvm.ErrHasDependents).
	ErrInUse = errors.New("in use")
	// ErrInvalid: an argument the tool, or its package before running it,
	// refused. The same call can never succeed.
	ErrInvalid = errors.New("invalid argument")
	// ErrUnavailable: the tool could not act at all, because the daemon it
	// talks to is not running or not reachable (tgtd, iscsid) or the kernel
	// lacks what it needs. Nothing was done; the same call may succeed once
	// the daemon is back.
	ErrUnavailable = errors.New("unavailable")
)

// Error is a failed operation of a tool package: usually one command that
// exited non-zero, sometimes an operation the package refused before
// running anything (ErrInvalid) or judged from the tool's output (a name
// missing from a listing: ErrNotFound).
type Error struct {
	// Tool names the package whose tool failed ("lvm", "tgt", "iscsi"); it
	// starts the message.
	Tool string
	// Op says what was being done, in the caller's terms, e.g. "create
	// target 3 iqn...". The command line itself is in Err.
	Op string
	// Kinds are the sentinels the failure matches, shared or the tool's
	// own; none when the tool said nothing the package recognises.
	Kinds []error
	// Err is the cause, usually the *runner.ExitError (command line with
	// secrets masked, exit code, stderr); nil when Kinds say it all.
	Err error
}

// Error is "tool: op: cause", or "tool: op: kind" when there is no cause.
func (e *Error) Error() string {
	parts := make([]string, 0, 3)
	for _, s := range []string{e.Tool, e.Op} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	switch {
	case e.Err != nil:
		parts = append(parts, e.Err.Error())
	case len(e.Kinds) > 0:
		parts = append(parts, e.Kinds[0].Error())
	}
	return strings.Join(parts, ": ")
}

// Unwrap exposes the kinds and the cause to errors.Is and errors.As, so
// both the sentinels and the *runner.ExitError stay reachable however many
// times callers wrap the error with %w.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, len(e.Kinds)+1)
	for _, k := range e.Kinds {
		if k != nil {
			errs = append(errs, k)
		}
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}
