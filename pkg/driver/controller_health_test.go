package driver

import (
	"context"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
)

func TestControllerVolumeHealth(t *testing.T) {
	c, l, _ := newController(t)
	ctx := context.Background()
	thin, _ := c.CreateVolume(ctx, createReq("thin", 8*mib, nil))
	thick, _ := c.CreateVolume(ctx, createReq("thick", 8*mib, map[string]string{"provisioning": "thick"}))
	id := thin.GetVolume().GetVolumeId()
	h, err := c.ControllerGetVolumeHealth(ctx, &csi.ControllerGetVolumeHealthRequest{VolumeId: id})
	if err != nil || h.GetVolumeHealth().GetVolumeId() != id || len(h.GetVolumeHealth().GetHealthStatuses()) != 0 {
		t.Fatalf("healthy volume = %v, %v", h, err)
	}
	if err := l.SetDataPercent("pool0", 95); err != nil {
		t.Fatal(err)
	}
	h, _ = c.ControllerGetVolumeHealth(ctx, &csi.ControllerGetVolumeHealthRequest{VolumeId: id})
	st := h.GetVolumeHealth().GetHealthStatuses()
	if len(st) != 1 || st[0].GetStatus() != csi.VolumeHealthErrorType_DEGRADED || st[0].GetReason() != "ThinPoolNearlyFull" {
		t.Fatalf("thin volume in a 95%% full pool = %v", st)
	}
	list, err := c.ControllerListVolumeHealth(ctx, &csi.ControllerListVolumeHealthRequest{})
	if err != nil || len(list.GetEntries()) != 2 {
		t.Fatalf("ListVolumeHealth = %v, %v", list, err)
	}
	for _, e := range list.GetEntries() {
		degraded := len(e.GetHealthStatuses()) > 0
		if degraded != (e.GetVolumeId() == id) {
			t.Errorf("%s degraded = %v (thick %s)", e.GetVolumeId(), degraded, thick.GetVolume().GetVolumeId())
		}
	}
	_, err = c.ControllerGetVolumeHealth(ctx, &csi.ControllerGetVolumeHealthRequest{})
	wantCode(t, err, codes.InvalidArgument)
	_, err = c.ControllerGetVolumeHealth(ctx, &csi.ControllerGetVolumeHealthRequest{VolumeId: pool.VolumeID("gone")})
	wantCode(t, err, codes.NotFound)
}
