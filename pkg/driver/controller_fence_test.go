package driver

import (
	"context"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A second node reporting node A's initiator name (a cloned machine) is
// refused with FailedPrecondition, and the message names both nodes, so
// the administrator knows which machines to fix.
func TestPublishRefusesAnInitiatorOfAnotherNode(t *testing.T) {
	c, _, _ := newController(t)
	ctx := context.Background()
	v1, _ := c.CreateVolume(ctx, createReq("pvc-1", 8*mib, nil))
	v2, _ := c.CreateVolume(ctx, createReq("pvc-2", 8*mib, nil))
	if _, err := c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: v1.GetVolume().GetVolumeId(), NodeId: testNodeA, VolumeCapability: rwo}); err != nil {
		t.Fatal(err)
	}
	_, iqn, _ := strings.Cut(testNodeA, "/")
	clone := "node-clone/" + iqn
	_, err := c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: v2.GetVolume().GetVolumeId(), NodeId: clone, VolumeCapability: rwo})
	wantCode(t, err, codes.FailedPrecondition)
	if msg := status.Convert(err).Message(); !strings.Contains(msg, testNodeA) || !strings.Contains(msg, clone) {
		t.Errorf("message %q does not name both nodes", msg)
	}
}
