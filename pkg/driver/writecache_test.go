package driver

import (
	"context"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
)

// writeCache=off reaches the volume's LUN (tgtd then reports write through
// and syncs every write before acknowledging it); the default leaves the
// write cache on; a bad value is InvalidArgument and creates nothing; the
// same name asked for again with the other setting is AlreadyExists.
func TestWriteCacheParameterReachesTheLUN(t *testing.T) {
	c, l, tg := newController(t)
	ctx := context.Background()
	lunOf := func(name string, params map[string]string) (bool, string) {
		t.Helper()
		vol, err := c.CreateVolume(ctx, createReq(name, 8*mib, params))
		if err != nil {
			t.Fatal(err)
		}
		id := vol.GetVolume().GetVolumeId()
		if _, err := c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: testNodeA, VolumeCapability: rwo}); err != nil {
			t.Fatal(err)
		}
		targets, _ := tg.ListTargets(ctx)
		for _, tgt := range targets {
			if tgt.IQN == DefaultIQNPrefix+":"+id {
				p, ok := tg.LUNParams(tgt.TID, 1)
				if !ok {
					t.Fatalf("%s: no LUN 1", name)
				}
				return p.WriteCacheOff, id
			}
		}
		t.Fatalf("%s: no target", name)
		return false, ""
	}
	if off, _ := lunOf("pvc-wc-default", nil); off {
		t.Error("a volume without writeCache has its LUN's write cache off")
	}
	if off, _ := lunOf("pvc-wc-on", map[string]string{"writeCache": "on"}); off {
		t.Error("writeCache=on turned the write cache off")
	}
	if off, _ := lunOf("pvc-wc-off", map[string]string{"writeCache": "off"}); !off {
		t.Error("writeCache=off left the LUN's write cache on")
	}

	before := l.Calls("CreateLV")
	_, err := c.CreateVolume(ctx, createReq("pvc-wc-bad", 8*mib, map[string]string{"writeCache": "writethrough"}))
	wantCode(t, err, codes.InvalidArgument)
	if n := l.Calls("CreateLV"); n != before {
		t.Errorf("a bad writeCache ran lvcreate (%d calls, was %d)", n, before)
	}
	_, err = c.CreateVolume(ctx, createReq("pvc-wc-off", 8*mib, map[string]string{"writeCache": "on"}))
	wantCode(t, err, codes.AlreadyExists)
}
