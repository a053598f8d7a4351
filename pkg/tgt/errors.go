package tgt

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
)

// Sentinels for errors.Is. Errors from tgtadm are *Error values that match
// one of these (when tgtd said something recognisable) and also unwrap to
// the *runner.ExitError with tgtadm's exit code and stderr.
var (
	// ErrNotFound: no such target, logical unit, account, binding, ACL,
	// session or connection.
	ErrNotFound = errors.New("not found")
	// ErrExists: the target (tid or name), LUN, ACL, account or account
	// binding is already there, or the target already has an outgoing
	// account.
	ErrExists = errors.New("already exists")
	// ErrDaemonUnreachable: tgtadm could not talk to tgtd on the control
	// port (not running, stale socket, closed the connection).
	ErrDaemonUnreachable = errors.New("tgtd unreachable")
	// ErrBusy: tgtd refused because the target or LUN is in use.
	ErrBusy = errors.New("in use")
	// ErrInvalid: an argument this package or tgtd refuses (tgtd says
	// "invalid request", for example for a backing store it cannot open).
	ErrInvalid = errors.New("invalid argument")
)

// Error is a failed tgt operation.
type Error struct {
	Op   string // what was attempted, e.g. "create target 3"
	Kind error  // one of the sentinels, or nil when unrecognised
	Err  error  // usually the *runner.ExitError
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("tgt: %s: %v", e.Op, e.Kind)
	}
	return fmt.Sprintf("tgt: %s: %v", e.Op, e.Err)
}

// Unwrap exposes both the sentinel and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.Kind, e.Err} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// invalid is an argument refused before any command runs.
func invalid(op, format string, args ...any) error {
	return &Error{Op: op, Kind: ErrInvalid, Err: fmt.Errorf(format, args...)}
}

// stderrKinds maps tgtadm's messages (tgtadm_strerror in tgtadm.c and its
// connection errors) to sentinels. Matched as substrings, first match wins.
var stderrKinds = []struct {
	text string
	kind error
}{
	{"tgt daemon", ErrDaemonUnreachable}, // "can't connect to" / "failed to send request hdr to" / "... to tgt daemon"
	{"tgtd closed the socket", ErrDaemonUnreachable},
	{"can't get the response", ErrDaemonUnreachable},
	{"a partial response", ErrDaemonUnreachable},
	{"can't find the target", ErrNotFound},
	{"can't find the logical unit", ErrNotFound},
	{"can't find the session", ErrNotFound},
	{"can't find the connection", ErrNotFound},
	{"can't find the binding", ErrNotFound},
	{"can't find the account", ErrNotFound},
	{"access control rule does not exist", ErrNotFound},
	{"already exists", ErrExists},
	{"already has an outgoing account", ErrExists},
	{"is still active", ErrBusy},
	{"driver is busy", ErrBusy},
	{"has prevent removal set", ErrBusy},
	{"invalid request", ErrInvalid},
	{"unknown parameter", ErrInvalid},
	{"isn't supported", ErrInvalid},
}

// classify wraps a tgtadm failure in an *Error whose Kind comes from its
// stderr; tgtadm's exit code (22 for nearly everything) says too little.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	stderr := strings.ToLower(runner.Stderr(err))
	var kind error
	for _, k := range stderrKinds {
		if strings.Contains(stderr, strings.ToLower(k.text)) {
			kind = k.kind
			break
		}
	}
	return &Error{Op: op, Kind: kind, Err: err}
}
