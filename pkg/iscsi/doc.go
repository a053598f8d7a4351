// Package iscsi owns the node side of iSCSI: iscsiadm (node records,
// login, logout, sessions, rescans) through Initiator, and the SCSI disks
// behind the sessions (finding them, checking their serial, removing them)
// through Devices.
//
// Failures are returned wrapped in this package's sentinel errors
// (ErrNotFound, ErrLoginFailed, ...) so callers test them with errors.Is;
// a failed command is a *toolerr.Error, and the *runner.ExitError of the
// failing command stays in the chain for errors.As and for the message.
package iscsi
