package iscsi

import (
	"errors"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/toolerr"
)

// tool starts the messages of this package's errors.
const tool = "iscsi"

// Sentinels for errors.Is. ErrNotFound, ErrDaemonUnavailable and
// ErrInvalidArgument are toolerr's shared sentinels under this package's
// names (the same values as lvm's and tgt's); the others mean something
// only on the node and are this package's own.
var (
	// ErrNotFound: the node record, session or target asked for does not
	// exist. It is toolerr.ErrNotFound.
	ErrNotFound = toolerr.ErrNotFound
	// ErrLoginFailed: iscsiadm could not log in to the target.
	ErrLoginFailed = errors.New("iscsi login failed")
	// ErrAuthFailed: the target refused the CHAP credentials. It comes
	// together with ErrLoginFailed.
	ErrAuthFailed = errors.New("iscsi authentication failed")
	// ErrDaemonUnavailable: iscsiadm could not reach iscsid (not running,
	// or no iSCSI support in the kernel). It is toolerr.ErrUnavailable.
	ErrDaemonUnavailable = toolerr.ErrUnavailable
	// ErrInvalidArgument: a portal, IQN, LUN or device name that must not
	// reach a command or a sysfs path. It is toolerr.ErrInvalid.
	ErrInvalidArgument = toolerr.ErrInvalid
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

// classify wraps err, the failure of one iscsiadm call doing what, in a
// *toolerr.Error whose kinds are the sentinels its exit code stands for,
// plus extra (the operation's own sentinel, such as ErrLoginFailed). The
// result matches all of them and the *runner.ExitError with errors.Is /
// errors.As.
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
	return &toolerr.Error{Tool: tool, Op: what, Kinds: kinds, Err: err}
}
