package iscsi

import (
	"errors"
	"fmt"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
)

var (
	// ErrNotFound: the node record, session or target asked for does not
	// exist.
	ErrNotFound = errors.New("not found")
	// ErrLoginFailed: iscsiadm could not log in to the target.
	ErrLoginFailed = errors.New("iscsi login failed")
	// ErrAuthFailed: the target refused the CHAP credentials. It comes
	// together with ErrLoginFailed.
	ErrAuthFailed = errors.New("iscsi authentication failed")
	// ErrDaemonUnavailable: iscsiadm could not reach iscsid (not running,
	// or no iSCSI support in the kernel).
	ErrDaemonUnavailable = errors.New("iscsid unavailable")
	// ErrInvalidArgument: a portal, IQN, LUN or device name that must not
	// reach a command or a sysfs path.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrDeviceNotFound: no SCSI disk for the target showed up.
	ErrDeviceNotFound = errors.New("iscsi device not found")
	// ErrSerialMismatch: the disk found is not the volume asked for.
	ErrSerialMismatch = errors.New("iscsi device serial mismatch")
)

// iscsiadm exit codes, from open-iscsi's include/iscsi_err.h. Only the ones
// this package tells apart are named.
const (
	exitSessionNotFound   = 2  // ISCSI_ERR_SESS_NOT_FOUND
	exitInvalid           = 7  // ISCSI_ERR_INVAL
	exitTransportNotFound = 12 // ISCSI_ERR_TRANS_NOT_FOUND: no iscsi_tcp in the kernel
	exitSessionExists     = 15 // ISCSI_ERR_SESS_EXISTS: already logged in
	exitDaemonComm        = 18 // ISCSI_ERR_ISCSID_COMM_ERR
	exitDaemonNotConn     = 20 // ISCSI_ERR_ISCSID_NOTCONN
	exitNoObjectsFound    = 21 // ISCSI_ERR_NO_OBJS_FOUND: no record / no session
	exitSysfsLookup       = 22 // ISCSI_ERR_SYSFS_LOOKUP: session gone from sysfs
	exitAuthFailed        = 24 // ISCSI_ERR_LOGIN_AUTH_FAILED
)

// classify wraps err, the failure of one iscsiadm call doing what, in the
// sentinels its exit code stands for, plus extra (the operation's own
// sentinel, such as ErrLoginFailed). The result matches all of them and the
// *runner.ExitError with errors.Is / errors.As.
func classify(what string, err error, extra ...error) error {
	var kinds []error
	switch runner.ExitCode(err) {
	case exitNoObjectsFound, exitSessionNotFound:
		kinds = append(kinds, ErrNotFound)
	case exitDaemonNotConn, exitDaemonComm, exitTransportNotFound:
		kinds = append(kinds, ErrDaemonUnavailable)
	case exitAuthFailed:
		kinds = append(kinds, ErrAuthFailed)
	case exitInvalid:
		kinds = append(kinds, ErrInvalidArgument)
	}
	kinds = append(kinds, extra...)
	return &Error{Op: what, Kinds: kinds, Err: err}
}

// Error is a failed operation of this package: Op says what was being
// done, Kinds the sentinels it matches, Err the underlying failure
// (usually a *runner.ExitError, whose message has secrets masked).
type Error struct {
	Op    string
	Kinds []error
	Err   error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Op, e.Err) }

// Unwrap exposes the sentinels and the underlying error to errors.Is/As.
func (e *Error) Unwrap() []error { return append(append([]error{}, e.Kinds...), e.Err) }
