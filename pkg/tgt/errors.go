package tgt

import (
	"fmt"
	"strings"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/toolerr"
)

// tool starts the messages of this package's errors.
const tool = "tgt"

// Sentinels for errors.Is. Every failure of this package is a
// *toolerr.Error that matches one of these (when tgtd said something
// recognisable) and also unwraps to the *runner.ExitError with tgtadm's
// exit code and stderr. They are toolerr's shared sentinels under this
// package's names: tgt.ErrNotFound is lvm.ErrNotFound is iscsi.ErrNotFound.
var (
	// ErrNotFound: no such target, logical unit, account, binding, ACL,
	// session or connection.
	ErrNotFound = toolerr.ErrNotFound
	// ErrExists: the target (tid or name), LUN, ACL, account or account
	// binding is already there.
	ErrExists = toolerr.ErrExists
	// ErrDaemonUnreachable: tgtadm could not talk to tgtd on the control
	// port (not running, stale socket, closed the connection). It is
	// toolerr.ErrUnavailable.
	ErrDaemonUnreachable = toolerr.ErrUnavailable
	// ErrBusy: tgtd refused because the target or LUN is in use. It is
	// toolerr.ErrInUse.
	ErrBusy = toolerr.ErrInUse
	// ErrInvalid: an argument this package or tgtd refuses (tgtd says
	// "invalid request", for example for a backing store it cannot open).
	ErrInvalid = toolerr.ErrInvalid
)

// invalid is an argument refused before any command runs.
func invalid(op, format string, args ...any) error {
	return &toolerr.Error{Tool: tool, Op: op, Kinds: []error{ErrInvalid}, Err: fmt.Errorf(format, args...)}
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

// classify wraps a tgtadm failure in a *toolerr.Error whose kind comes
// from its stderr; tgtadm's exit code (22 for nearly everything) says too
// little.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	e := &toolerr.Error{Tool: tool, Op: op, Err: err}
	stderr := strings.ToLower(runner.Stderr(err))
	for _, k := range stderrKinds {
		if strings.Contains(stderr, strings.ToLower(k.text)) {
			e.Kinds = []error{k.kind}
			break
		}
	}
	return e
}
