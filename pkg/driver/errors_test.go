package driver

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
)

func TestToStatusFollowsWrappedChains(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code codes.Code
	}{
		{fmt.Errorf("create: %w", fmt.Errorf("%w: %w", pool.ErrNoSpace, lvm.ErrNoSpace)), codes.ResourceExhausted},
		{fmt.Errorf("delete: %w", lvm.ErrHasDependents), codes.FailedPrecondition},
		{fmt.Errorf("remove: %w", lvm.ErrInUse), codes.FailedPrecondition},
		// A tag lvm could not write: the VG's metadata area is full.
		{fmt.Errorf("recording the publication: %w", lvm.ErrNoSpace), codes.ResourceExhausted},
		{fmt.Errorf("finding the disk: %w", iscsi.ErrDeviceNotFound), codes.DeadlineExceeded},
		{fail(errNotStaged, "volume %s is not staged: %w", "csi-1", iscsi.ErrDeviceNotFound), codes.FailedPrecondition},
		{invalid("name is required"), codes.InvalidArgument},
		{fmt.Errorf("mount: %w", context.Canceled), codes.Canceled},
		{fmt.Errorf("publish_context chap: %w", publish.ErrNotForThisKey), codes.FailedPrecondition},
		{fmt.Errorf("publish_context chap: %w", publish.ErrMalformedSealed), codes.InvalidArgument},
		{fmt.Errorf("publish_context chap: %w (csi-1, not csi-2)", publish.ErrOtherVolume), codes.InvalidArgument},
		{fail(errNodeWithoutKey, "node %q has no public key", "n/iqn.2000-01.x:y"), codes.FailedPrecondition},
		{fmt.Errorf("%w: the CHAP key (LV vg/lic-chap-key): corrupt", pool.ErrUnavailable), codes.Unavailable},
		{fmt.Errorf("something else"), codes.Internal},
		{status.Error(codes.Unimplemented, "as is"), codes.Unimplemented},
	} {
		if got := status.Code(toStatus(tc.err)); got != tc.code {
			t.Errorf("toStatus(%v) = %s, want %s", tc.err, got, tc.code)
		}
	}
}

func TestKindErrorKeepsItsMessageAndCause(t *testing.T) {
	err := fail(errNotStaged, "volume %s is not staged: %w", "csi-1", iscsi.ErrDeviceNotFound)
	if got := status.Convert(toStatus(err)).Message(); got != "volume csi-1 is not staged: iscsi device not found" {
		t.Fatalf("message = %q", got)
	}
}

// The codes kubelet's isFinalError (pkg/volume/csi/csi_client.go, v1.37)
// does not take as final; every other code is final.
var kubeletNonFinal = map[codes.Code]bool{
	codes.Canceled: true, codes.DeadlineExceeded: true, codes.Unavailable: true,
	codes.ResourceExhausted: true, codes.Aborted: true,
}

func TestFinalForKubelet(t *testing.T) {
	for c := codes.Canceled; c <= codes.Unauthenticated; c++ {
		if got := finalForKubelet(status.Error(c, "x")); got == kubeletNonFinal[c] {
			t.Errorf("finalForKubelet(%s) = %v, kubelet says %v", c, got, !kubeletNonFinal[c])
		}
	}
	for _, tc := range []struct {
		err   error
		final bool
	}{
		{fmt.Errorf("disk: %w", iscsi.ErrSerialMismatch), true},
		{fmt.Errorf("login: %w: %w", iscsi.ErrLoginFailed, iscsi.ErrAuthFailed), true}, // PermissionDenied
		{fmt.Errorf("mkfs.ext4 failed"), true},                                         // Internal
		{fail(errPathInUse, "staging path holds another disk"), true},
		{fmt.Errorf("finding the disk: %w", iscsi.ErrDeviceNotFound), false},
		{fmt.Errorf("login: %w", iscsi.ErrLoginFailed), false},
		{fmt.Errorf("mount: %w", context.DeadlineExceeded), false},
		{fail(errStillStaged, "undo failed: %w", fmt.Errorf("disk: %w", iscsi.ErrSerialMismatch)), false},
		{nil, false},
	} {
		if got := finalForKubelet(tc.err); got != tc.final {
			t.Errorf("finalForKubelet(%v) = %v (code %s), want %v", tc.err, got, codeOf(tc.err), tc.final)
		}
	}
}
