package driver

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/exclusive"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
)

// This file is the only place that knows gRPC codes. Handlers return plain
// Go errors that wrap a sentinel (their own, below, or one of the storage
// and tool packages'); the locking wrapper (locks.go) turns each into a
// status with toStatus.

// Sentinels of the CSI layer itself, named for what went wrong.
var (
	// errBadRequest: a field is missing or malformed.
	errBadRequest = errors.New("invalid request")
	// errUnknownObject: an id or path that cannot name anything of ours.
	errUnknownObject = errors.New("no such object")
	// errOutOfRange: no size within the requested range will do.
	errOutOfRange = errors.New("out of range")
	// errInFlight: another call on the same volume is running.
	errInFlight = errors.New("operation in progress")
	// errNotStaged: a node call needs the volume staged (or attached) on
	// this node first.
	errNotStaged = errors.New("volume not staged")
	// errPathInUse: the staging path holds another device.
	errPathInUse = errors.New("path in use")
	// errSingleWriter: a single-writer volume is already published.
	errSingleWriter = errors.New("single-writer volume already published")
	// errRescanIncomplete: the node does not see the new size yet.
	errRescanIncomplete = errors.New("new size not visible yet")
	// errPagingToken: a starting_token this list never returned.
	errPagingToken = errors.New("unknown starting_token")
	// errNodeWithoutKey: CHAP credentials cannot be sealed to a node
	// whose id has no public key (a node plugin older than 0.2).
	errNodeWithoutKey = errors.New("node has no key")
	// errStillStaged: a node call failed and left the volume (possibly)
	// staged on this node: what it set up could not be undone, or pods
	// still use it. Its code must not be final for kubelet (see
	// finalForKubelet), so that kubelet calls NodeUnstageVolume later.
	errStillStaged = errors.New("volume left staged")
	// errDiskUnreachable: the volume's disk fails every I/O (its session
	// has been down for longer than the replacement timeout).
	errDiskUnreachable = errors.New("disk unreachable")
	// errDiskReconnecting: the volume's disk waits for its session to
	// reconnect.
	errDiskReconnecting = errors.New("disk reconnecting")
	// errStagingBroken: the volume's staging mount no longer works (its
	// disk is gone or was replaced, or the filesystem went read-only or
	// returns I/O errors).
	errStagingBroken = errors.New("staging mount broken")
)

// errorCodes maps sentinels to gRPC codes, first match wins.
var errorCodes = []struct {
	err  error
	code codes.Code
}{
	// First: it wraps the error that made the call fail, whose own code
	// would be final.
	{errStillStaged, codes.Unavailable},
	{errBadRequest, codes.InvalidArgument},
	{errUnknownObject, codes.NotFound},
	{errOutOfRange, codes.OutOfRange},
	{errInFlight, codes.Aborted},
	{errPagingToken, codes.Aborted}, // the spec's code for a bad token
	{errNotStaged, codes.FailedPrecondition},
	{errPathInUse, codes.AlreadyExists},
	{errSingleWriter, codes.FailedPrecondition},
	{errRescanIncomplete, codes.Unavailable},
	// Upgrading the node plugin fixes it; the CO retries meanwhile.
	{errNodeWithoutKey, codes.FailedPrecondition},
	// Sealed credentials this node cannot open: sealed to a key it no
	// longer has (its state directory was wiped), so only a new
	// ControllerPublishVolume (detach and attach) helps.
	{publish.ErrNotForThisKey, codes.FailedPrecondition},
	{publish.ErrMalformedSealed, codes.InvalidArgument},
	{publish.ErrOtherVolume, codes.InvalidArgument},
	{errStagingBroken, codes.FailedPrecondition},
	// Final, so the stage is undone and kubelet's retry logs in afresh.
	{errDiskUnreachable, codes.FailedPrecondition},
	{errDiskReconnecting, codes.Unavailable},

	{pool.ErrNotFound, codes.NotFound},
	{pool.ErrExists, codes.AlreadyExists},
	{pool.ErrNoSpace, codes.ResourceExhausted},
	{pool.ErrInvalid, codes.InvalidArgument},
	{pool.ErrOutOfRange, codes.OutOfRange},
	{pool.ErrPublishedElsewhere, codes.FailedPrecondition},
	// A node reporting another node's initiator name: refused until the
	// other node's volumes are unpublished or the machine gets its own name.
	{pool.ErrInitiatorInUse, codes.FailedPrecondition},
	{pool.ErrUnavailable, codes.Unavailable},
	// Another controller holds the storage host: this one waits to take over.
	{exclusive.ErrHeldElsewhere, codes.Unavailable},
	{pool.ErrHasSnapshots, codes.FailedPrecondition},
	// A restore from a snapshot whose data is gone: retrying cannot help.
	{pool.ErrSnapshotInvalid, codes.FailedPrecondition},
	// A clone still being filled: the CO retries, and the retry waits for
	// the same job.
	{pool.ErrInProgress, codes.Aborted},
	// An LV with snapshots or thin dependents, or a device held open: the
	// request cannot succeed until something else changes.
	{lvm.ErrHasDependents, codes.FailedPrecondition},
	{lvm.ErrInUse, codes.FailedPrecondition},
	// A change lvm could not write for want of room where no pool check
	// came first: a tag (a publication, a delete's mark) when the VG's
	// metadata area is full.
	{lvm.ErrNoSpace, codes.ResourceExhausted},

	// Node side. A disk that is not the volume's is refused for good; the
	// rest may clear up, and a non-final code makes kubelet treat the
	// volume as possibly staged, so it calls NodeUnstageVolume to clean up
	// (finalForKubelet; a final one is cleaned up before the answer).
	{iscsi.ErrSerialMismatch, codes.FailedPrecondition},
	{iscsi.ErrAuthFailed, codes.PermissionDenied},
	{iscsi.ErrLoginFailed, codes.Unavailable},
	{iscsi.ErrDaemonUnavailable, codes.Unavailable},
	{iscsi.ErrDeviceNotFound, codes.DeadlineExceeded},
	{context.DeadlineExceeded, codes.DeadlineExceeded},
	{context.Canceled, codes.Canceled},
}

// toStatus turns any error into a gRPC status error. Errors that already
// are statuses pass through; errors matching no sentinel are Internal.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(codeOf(err), err.Error())
}

// codeOf is the code toStatus gives err (OK for nil).
func codeOf(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if st, ok := status.FromError(err); ok {
		return st.Code()
	}
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			return m.code
		}
	}
	return codes.Internal
}

// finalForKubelet reports whether kubelet takes err, once toStatus made it
// a status, as the end of a NodeStageVolume, NodePublishVolume or
// NodeExpandVolume (isFinalError in kubelet's pkg/volume/csi/csi_client.go,
// v1.37): the operation "is for sure not in progress", so kubelet records
// the volume as not staged (not mounted) and will NOT call
// NodeUnstageVolume (NodeUnpublishVolume) for it, even when an earlier
// attempt had left it uncertain. Every other code (Canceled,
// DeadlineExceeded, Unavailable, ResourceExhausted, Aborted) makes it
// record the volume as possibly staged and call NodeUnstageVolume when the
// volume is no longer needed. So a node handler whose error is final must
// leave nothing behind, and one that cannot must answer errStillStaged.
func finalForKubelet(err error) bool {
	switch codeOf(err) {
	case codes.OK, codes.Canceled, codes.DeadlineExceeded, codes.Unavailable, codes.ResourceExhausted, codes.Aborted:
		return false
	}
	return true
}

// kindError is an error of one of this package's kinds whose message is
// its own: the sentinel decides the code, the text stays readable.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// fail builds an error of kind; format may wrap causes with %w.
func fail(kind error, format string, args ...any) error {
	return &kindError{kind: kind, err: fmt.Errorf(format, args...)}
}

func invalid(format string, args ...any) error { return fail(errBadRequest, format, args...) }

func aborted(what string) error {
	return fail(errInFlight, "an operation on %s is already in progress", what)
}

// panicError is what a handler that panicked answers (Internal).
func panicError(method string) error {
	return status.Errorf(codes.Internal, "internal error in %s (see the plugin's log)", method)
}
