package driver

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm/lvmfake"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt/tgtfake"
)

// TestNodeReadsWhatTheControllerExports holds the controller and the node
// to one contract: the publish_context the controller hands out is what
// the node accepts, it names the target and LUN tgtd really exports, and
// the node's fallback (finding a volume's session by its IQN when the stage
// record is lost) recognises that IQN. It breaks if either side changes
// the IQN form, the LUN number or a publish_context key on its own. The
// prefix has a colon of its own, which IQNs allow.
func TestNodeReadsWhatTheControllerExports(t *testing.T) {
	const prefix = "iqn.2003-01.org.example:storage"
	l := lvmfake.New("vg0", 8<<30, 4<<20)
	tg := tgtfake.New()
	secrets, err := pool.NewFileSecretsOn(filepath.Join(t.TempDir(), "chap"), pool.NewMemoryKeyDevice())
	if err != nil {
		t.Fatal(err)
	}
	p, err := pool.New(pool.Config{VolumeGroup: "vg0", Portal: "192.0.2.10:3260", IQNPrefix: prefix, CHAP: true}, l, tg, secrets, noWipe{})
	if err != nil {
		t.Fatal(err)
	}
	c := NewControllerServer(p)
	ctx := context.Background()
	vol, err := c.CreateVolume(ctx, createReq("pvc-contract", 8*mib, nil))
	if err != nil {
		t.Fatal(err)
	}
	id := vol.GetVolume().GetVolumeId()
	resp, err := c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: testNodeA, VolumeCapability: rwo})
	if err != nil {
		t.Fatal(err)
	}

	target, err := targetFrom(id, resp.GetPublishContext())
	if err != nil {
		t.Fatalf("the node refuses the controller's publish_context %v: %v", resp.GetPublishContext(), err)
	}
	if target.CHAP, err = chapFrom(id, resp.GetPublishContext(), testKeyA); err != nil {
		t.Fatalf("the node cannot open the CHAP credentials sealed to it: %v", err)
	}
	if target.CHAP == nil || target.Portal != "192.0.2.10:3260" {
		t.Fatalf("node read %+v", target)
	}
	if pw, ok := tg.Password(target.CHAP.User); !ok || pw != target.CHAP.Password {
		t.Fatalf("the node would log in as %s, which tgtd does not have with that password", target.CHAP.User)
	}
	if !publish.IsTargetOf(target.IQN, id) {
		t.Fatalf("the node's session fallback would not find %s by its IQN %s", id, target.IQN)
	}
	targets, err := tg.ListTargets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range targets {
		if tt.IQN != target.IQN {
			continue
		}
		for _, lun := range tt.LUNs {
			if lun.Number == target.LUN && lun.SCSISN == id {
				return
			}
		}
		t.Fatalf("target %s exports LUNs %+v, none is LUN %d with serial %s", tt.IQN, tt.LUNs, target.LUN, id)
	}
	t.Fatalf("tgtd has no target %s (has %+v)", target.IQN, targets)
}
