package driver

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
)

// errorCodes maps the storage packages' sentinel errors to gRPC codes. This
// file is the only place that does so.
var errorCodes = []struct {
	err  error
	code codes.Code
}{
	{pool.ErrNotFound, codes.NotFound},
	{pool.ErrExists, codes.AlreadyExists},
	{pool.ErrNoSpace, codes.ResourceExhausted},
	{pool.ErrInvalid, codes.InvalidArgument},
	{pool.ErrOutOfRange, codes.OutOfRange},
	{pool.ErrPublishedElsewhere, codes.FailedPrecondition},
	{pool.ErrUnavailable, codes.Unavailable},
	{pool.ErrHasSnapshots, codes.FailedPrecondition},
	// A clone still being filled: the CO retries, and the retry waits for
	// the same job.
	{pool.ErrInProgress, codes.Aborted},
	// Node side. A disk that is not the volume's is refused for good; the
	// rest may clear up, and a non-final code makes kubelet treat the
	// volume as possibly staged, so it calls NodeUnstageVolume to clean up.
	{iscsi.ErrSerialMismatch, codes.FailedPrecondition},
	{iscsi.ErrAuthFailed, codes.PermissionDenied},
	{iscsi.ErrLoginFailed, codes.Unavailable},
	{iscsi.ErrDaemonUnavailable, codes.Unavailable},
	{iscsi.ErrDeviceNotFound, codes.DeadlineExceeded},
	{context.DeadlineExceeded, codes.DeadlineExceeded},
	{context.Canceled, codes.Canceled},
}

// toStatus turns any error into a gRPC status error. Errors that already
// are statuses (validation) pass through; unknown errors are Internal.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			return status.Error(m.code, err.Error())
		}
	}
	return status.Error(codes.Internal, err.Error())
}

func aborted(what string) error {
	return status.Errorf(codes.Aborted, "an operation on %s is already in progress", what)
}
