package driver

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm/lvmfake"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt/tgtfake"
)

const mib = int64(1 << 20)

// Two nodes as their node plugins introduce themselves: name, initiator
// name and public key (keys from fixed private keys, so runs repeat).
var (
	testKeyA  = fixedNodeKey(0xa1)
	testKeyB  = fixedNodeKey(0xb2)
	testNodeA = NodeID("node-a", "iqn.1993-08.org.debian:01:aaaa", &testKeyA.Public)
	testNodeB = NodeID("node-b", "iqn.1993-08.org.debian:01:bbbb", &testKeyB.Public)
)

func fixedNodeKey(seed byte) *publish.NodeKey {
	k, err := publish.NodeKeyFromPrivate(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		panic(err)
	}
	return k
}

type noWipe struct{}

func (noWipe) Zero(context.Context, string) error                       { return nil }
func (noWipe) ZeroRange(context.Context, string, uint64, uint64) error  { return nil }
func (noWipe) Copy(context.Context, string, string, uint64, bool) error { return nil }

// newController is the controller over a real pool on the lvm and tgt fakes.
func newController(t *testing.T) (*ControllerServer, *lvmfake.Fake, *tgtfake.Fake) {
	t.Helper()
	l := lvmfake.New("vg0", 8<<30, 4<<20)
	if err := l.AddThinPool("pool0", 2<<30); err != nil {
		t.Fatal(err)
	}
	tg := tgtfake.New()
	secrets, err := pool.NewFileSecretsOn(filepath.Join(t.TempDir(), "chap"), pool.NewMemoryKeyDevice())
	if err != nil {
		t.Fatal(err)
	}
	p, err := pool.New(pool.Config{VolumeGroup: "vg0", ThinPool: "pool0", Portal: "192.0.2.10:3260",
		IQNPrefix: DefaultIQNPrefix, CHAP: true, OverprovisionRatio: 1, ThinPoolWarnPercent: 80}, l, tg, secrets, noWipe{})
	if err != nil {
		t.Fatal(err)
	}
	return NewControllerServer(p), l, tg
}

func mountCap(mode csi.VolumeCapability_AccessMode_Mode) *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: "ext4"}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: mode},
	}
}

func blockCap(mode csi.VolumeCapability_AccessMode_Mode) *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: mode},
	}
}

var rwo = mountCap(csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER)

func createReq(name string, size int64, params map[string]string) *csi.CreateVolumeRequest {
	return &csi.CreateVolumeRequest{
		Name:               name,
		CapacityRange:      &csi.CapacityRange{RequiredBytes: size},
		VolumeCapabilities: []*csi.VolumeCapability{rwo},
		Parameters:         params,
	}
}

func wantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	// Handlers called directly return plain errors; through the server
	// they are statuses: toStatus serves both.
	if got := status.Code(toStatus(err)); got != code {
		t.Fatalf("error %v: code %s, want %s", err, got, code)
	}
}

func TestCreateVolume(t *testing.T) {
	c, l, _ := newController(t)
	ctx := context.Background()
	resp, err := c.CreateVolume(ctx, createReq("pvc-1", 10*mib, map[string]string{"provisioning": "thick", "csi.storage.k8s.io/pvc/name": "data"}))
	if err != nil {
		t.Fatal(err)
	}
	v := resp.GetVolume()
	if v.GetCapacityBytes() != 12*mib || !pool.ValidVolumeID(v.GetVolumeId()) {
		t.Fatalf("volume = %v", v)
	}
	if len(v.GetVolumeContext()) != 0 {
		t.Fatalf("volume_context carries %v; the node needs nothing from it", v.GetVolumeContext())
	}
	again, err := c.CreateVolume(ctx, createReq("pvc-1", 10*mib, map[string]string{"provisioning": "thick"}))
	if err != nil || again.GetVolume().GetVolumeId() != v.GetVolumeId() {
		t.Fatalf("retry = %v, %v", again, err)
	}
	_, err = c.CreateVolume(ctx, createReq("pvc-1", 100*mib, map[string]string{"provisioning": "thick"}))
	wantCode(t, err, codes.AlreadyExists)
	if n := l.Calls("CreateLV"); n != 1 {
		t.Fatalf("lvcreate ran %d times", n)
	}
	// Thin by default when a thin pool is configured.
	thin, err := c.CreateVolume(ctx, createReq("pvc-thin", 10*mib, nil))
	if err != nil {
		t.Fatal(err)
	}
	lv, _ := l.GetLV(ctx, "vg0", thin.GetVolume().GetVolumeId())
	if lv.PoolLV != "pool0" {
		t.Fatalf("default provisioning made %+v, want a thin LV", lv)
	}
}

func TestCreateVolumeMeetsTheFilesystemMinimum(t *testing.T) {
	c, _, _ := newController(t)
	ctx := context.Background()
	xfs := &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: "xfs"}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
	}
	resp, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "small-xfs", VolumeCapabilities: []*csi.VolumeCapability{xfs},
		CapacityRange: &csi.CapacityRange{RequiredBytes: 64 * mib}})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetVolume().GetCapacityBytes(); got < 300*mib {
		t.Fatalf("xfs volume of %d bytes: mkfs.xfs refuses under 300 MiB", got)
	}
	_, err = c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "capped-xfs", VolumeCapabilities: []*csi.VolumeCapability{xfs},
		CapacityRange: &csi.CapacityRange{RequiredBytes: 64 * mib, LimitBytes: 128 * mib}})
	wantCode(t, err, codes.OutOfRange)
}

func TestCreateVolumeRejectsBadInputWithoutTouchingLVM(t *testing.T) {
	c, l, _ := newController(t)
	ctx := context.Background()
	multiMount := mountCap(csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER)
	cases := []struct {
		name string
		req  *csi.CreateVolumeRequest
		code codes.Code
	}{
		{"no name", createReq("", mib, nil), codes.InvalidArgument},
		{"name too long", createReq(strings.Repeat("n", 129), mib, nil), codes.InvalidArgument},
		{"unknown parameter", createReq("x", mib, map[string]string{"fstype": "ext4"}), codes.InvalidArgument},
		{"bad provisioning", createReq("x", mib, map[string]string{"provisioning": "fat"}), codes.InvalidArgument},
		{"no capabilities", &csi.CreateVolumeRequest{Name: "x"}, codes.InvalidArgument},
		{"multi-node filesystem", &csi.CreateVolumeRequest{Name: "x", VolumeCapabilities: []*csi.VolumeCapability{multiMount}}, codes.InvalidArgument},
		{"unsupported fs", &csi.CreateVolumeRequest{Name: "x", VolumeCapabilities: []*csi.VolumeCapability{{
			AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: "btrfs"}},
			AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER}}}}, codes.InvalidArgument},
		{"shell in mount flag", &csi.CreateVolumeRequest{Name: "x", VolumeCapabilities: []*csi.VolumeCapability{{
			AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{MountFlags: []string{"noatime;reboot"}}},
			AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER}}}}, codes.InvalidArgument},
		{"negative size", createReq("x", -1, nil), codes.InvalidArgument},
		{"content source of the wrong form", func() *csi.CreateVolumeRequest {
			r := createReq("x", mib, nil)
			r.VolumeContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: "csi-0"}}}
			return r
		}(), codes.NotFound},
		{"content source without id", func() *csi.CreateVolumeRequest {
			r := createReq("x", mib, nil)
			r.VolumeContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{}}}
			return r
		}(), codes.InvalidArgument},
		{"too big", createReq("x", 64<<30, map[string]string{"provisioning": "thick"}), codes.ResourceExhausted},
		{"over limit after rounding", &csi.CreateVolumeRequest{Name: "x", VolumeCapabilities: []*csi.VolumeCapability{rwo},
			CapacityRange: &csi.CapacityRange{RequiredBytes: mib, LimitBytes: 2 * mib}}, codes.OutOfRange},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := l.Calls("CreateLV")
			_, err := c.CreateVolume(ctx, tc.req)
			wantCode(t, err, tc.code)
			if tc.code == codes.ResourceExhausted {
				// A thick volume the VG cannot hold is lvcreate's own
				// refusal (no vgs first, pkg/pool/create.go): it made
				// nothing.
				if lv, err := l.GetLV(ctx, "vg0", pool.VolumeID(tc.req.Name)); err == nil {
					t.Fatalf("a refused lvcreate left %+v", lv)
				}
				return
			}
			if n := l.Calls("CreateLV") - before; n != 0 {
				t.Fatalf("a bad request ran lvcreate %d times", n)
			}
		})
	}
}

func TestConcurrentCreateOfSameNameIsAborted(t *testing.T) {
	c, _, _ := newController(t)
	release, ok := c.locks.tryLock(volumeNameLock("pvc-1"))
	if !ok {
		t.Fatal("lock not free")
	}
	_, err := c.CreateVolume(context.Background(), createReq("pvc-1", mib, nil))
	wantCode(t, err, codes.Aborted)
	release()
	if _, err := c.CreateVolume(context.Background(), createReq("pvc-1", mib, nil)); err != nil {
		t.Fatalf("after the first call finished: %v", err)
	}
}

func TestPublishUnpublish(t *testing.T) {
	c, _, tg := newController(t)
	ctx := context.Background()
	vol, _ := c.CreateVolume(ctx, createReq("pvc-1", 8*mib, nil))
	id := vol.GetVolume().GetVolumeId()
	pub := &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: testNodeA, VolumeCapability: rwo}
	resp, err := c.ControllerPublishVolume(ctx, pub)
	if err != nil {
		t.Fatal(err)
	}
	pc := resp.GetPublishContext()
	if pc[publish.KeyPortal] != "192.0.2.10:3260" || pc[publish.KeyIQN] != DefaultIQNPrefix+":"+id || pc[publish.KeyLUN] != "1" || pc[publish.KeyCHAP] == "" {
		t.Fatalf("publish_context = %v", pc)
	}
	if len(pc) != 4 {
		t.Fatalf("publish_context has extra keys: %v", pc)
	}
	creds, err := testKeyA.OpenCredentials(id, pc[publish.KeyCHAP])
	if err != nil {
		t.Fatalf("node A cannot open its credentials: %v", err)
	}
	if pw, ok := tg.Password(creds.User); !ok || pw != creds.Password {
		t.Fatalf("the sealed credentials are not tgtd's account %s", creds.User)
	}
	again, err := c.ControllerPublishVolume(ctx, pub)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if retried, err := testKeyA.OpenCredentials(id, again.GetPublishContext()[publish.KeyCHAP]); err != nil || retried != creds {
		t.Fatalf("retry handed out %v, %v; want the same credentials", retried, err)
	}
	_, err = c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: testNodeB, VolumeCapability: rwo})
	wantCode(t, err, codes.FailedPrecondition)

	list, err := c.ListVolumes(ctx, &csi.ListVolumesRequest{})
	if err != nil || len(list.GetEntries()) != 1 || list.GetEntries()[0].GetStatus().GetPublishedNodeIds()[0] != testNodeA {
		t.Fatalf("ListVolumes = %v, %v", list, err)
	}
	get, err := c.ControllerGetVolume(ctx, &csi.ControllerGetVolumeRequest{VolumeId: id})
	if err != nil || len(get.GetStatus().GetPublishedNodeIds()) != 1 {
		t.Fatalf("ControllerGetVolume = %v, %v", get, err)
	}

	un := &csi.ControllerUnpublishVolumeRequest{VolumeId: id, NodeId: testNodeA}
	for i := 0; i < 2; i++ {
		if _, err := c.ControllerUnpublishVolume(ctx, un); err != nil {
			t.Fatalf("unpublish #%d: %v", i, err)
		}
	}
	if targets, _ := tg.ListTargets(ctx); len(targets) != 0 {
		t.Fatalf("targets left after the last unpublish: %+v", targets)
	}
	// Unknown volumes are unpublished already.
	if _, err := c.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: pool.VolumeID("gone"), NodeId: testNodeA}); err != nil {
		t.Fatalf("unpublish of an unknown volume: %v", err)
	}
}

func TestPublishMultiNodeOnlyForBlock(t *testing.T) {
	c, _, _ := newController(t)
	ctx := context.Background()
	vol, _ := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "shared", VolumeCapabilities: []*csi.VolumeCapability{
		blockCap(csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER)}, CapacityRange: &csi.CapacityRange{RequiredBytes: 8 * mib}})
	id := vol.GetVolume().GetVolumeId()
	shared := blockCap(csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER)
	for _, n := range []string{testNodeA, testNodeB} {
		if _, err := c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: n, VolumeCapability: shared}); err != nil {
			t.Fatalf("shared block publish to %s: %v", n, err)
		}
	}
	_, err := c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: testNodeA,
		VolumeCapability: mountCap(csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER)})
	wantCode(t, err, codes.InvalidArgument)
	// Unpublish with no node id takes every node away.
	if _, err := c.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: id}); err != nil {
		t.Fatal(err)
	}
	get, _ := c.ControllerGetVolume(ctx, &csi.ControllerGetVolumeRequest{VolumeId: id})
	if n := len(get.GetStatus().GetPublishedNodeIds()); n != 0 {
		t.Fatalf("still published to %d nodes", n)
	}
}

func TestPublishRejectsBadInput(t *testing.T) {
	c, _, tg := newController(t)
	ctx := context.Background()
	vol, _ := c.CreateVolume(ctx, createReq("pvc-1", 8*mib, nil))
	id := vol.GetVolume().GetVolumeId()
	cases := []struct {
		name string
		req  *csi.ControllerPublishVolumeRequest
		code codes.Code
	}{
		{"no volume id", &csi.ControllerPublishVolumeRequest{NodeId: testNodeA, VolumeCapability: rwo}, codes.InvalidArgument},
		{"no node id", &csi.ControllerPublishVolumeRequest{VolumeId: id, VolumeCapability: rwo}, codes.InvalidArgument},
		{"no capability", &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: testNodeA}, codes.InvalidArgument},
		{"unknown volume", &csi.ControllerPublishVolumeRequest{VolumeId: pool.VolumeID("nope"), NodeId: testNodeA, VolumeCapability: rwo}, codes.NotFound},
		{"malformed volume id", &csi.ControllerPublishVolumeRequest{VolumeId: "../../etc", NodeId: testNodeA, VolumeCapability: rwo}, codes.NotFound},
		{"malformed node id", &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: "some-fake-node-id", VolumeCapability: rwo}, codes.NotFound},
		{"node id with upper-case IQN", &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: "n/IQN.1993-08.org.debian:01:x", VolumeCapability: rwo}, codes.NotFound},
		{"node id with injection", &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: "n/iqn.1993-08.org.debian:01:x --op delete", VolumeCapability: rwo}, codes.NotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ControllerPublishVolume(ctx, tc.req)
			wantCode(t, err, tc.code)
		})
	}
	for _, call := range tg.Calls() {
		if !strings.HasPrefix(call, "List") {
			t.Fatalf("a refused publish changed tgtd: %s", call)
		}
	}
}

func TestDeleteVolume(t *testing.T) {
	c, l, tg := newController(t)
	ctx := context.Background()
	vol, _ := c.CreateVolume(ctx, createReq("pvc-1", 8*mib, nil))
	id := vol.GetVolume().GetVolumeId()
	if _, err := c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: testNodeA, VolumeCapability: rwo}); err != nil {
		t.Fatal(err)
	}
	for _, del := range []string{id, id, "reallyfakevolumeid"} {
		if _, err := c.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: del}); err != nil {
			t.Fatalf("DeleteVolume(%s): %v", del, err)
		}
	}
	if _, err := l.GetLV(ctx, "vg0", id); err == nil {
		t.Fatal("LV still there")
	}
	if targets, _ := tg.ListTargets(ctx); len(targets) != 0 {
		t.Fatalf("targets left: %+v", targets)
	}
	_, err := c.DeleteVolume(ctx, &csi.DeleteVolumeRequest{})
	wantCode(t, err, codes.InvalidArgument)
}

func TestListVolumesPaginates(t *testing.T) {
	c, _, _ := newController(t)
	ctx := context.Background()
	want := map[string]bool{}
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		v, err := c.CreateVolume(ctx, createReq(n, 4*mib, nil))
		if err != nil {
			t.Fatal(err)
		}
		want[v.GetVolume().GetVolumeId()] = true
	}
	seen := map[string]bool{}
	token := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		resp, err := c.ListVolumes(ctx, &csi.ListVolumesRequest{MaxEntries: 2, StartingToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetEntries()) > 2 {
			t.Fatalf("page of %d entries, max 2", len(resp.GetEntries()))
		}
		for _, e := range resp.GetEntries() {
			if seen[e.GetVolume().GetVolumeId()] {
				t.Fatalf("%s listed twice", e.GetVolume().GetVolumeId())
			}
			seen[e.GetVolume().GetVolumeId()] = true
		}
		if token = resp.GetNextToken(); token == "" {
			break
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("listed %d volumes, want %d", len(seen), len(want))
	}
	_, err := c.ListVolumes(ctx, &csi.ListVolumesRequest{StartingToken: "bogus"})
	wantCode(t, err, codes.Aborted)
	_, err = c.ListVolumes(ctx, &csi.ListVolumesRequest{MaxEntries: -1})
	wantCode(t, err, codes.InvalidArgument)
}

func TestValidateVolumeCapabilitiesAndCapacity(t *testing.T) {
	c, _, _ := newController(t)
	ctx := context.Background()
	vol, _ := c.CreateVolume(ctx, createReq("pvc-1", 8*mib, nil))
	id := vol.GetVolume().GetVolumeId()
	ok, err := c.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: id, VolumeCapabilities: []*csi.VolumeCapability{rwo}})
	if err != nil || ok.GetConfirmed() == nil {
		t.Fatalf("supported capability not confirmed: %v, %v", ok, err)
	}
	no, err := c.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: id,
		VolumeCapabilities: []*csi.VolumeCapability{mountCap(csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER)}})
	if err != nil || no.GetConfirmed() != nil || no.GetMessage() == "" {
		t.Fatalf("unsupported capability: %v, %v", no, err)
	}
	_, err = c.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: pool.VolumeID("x"), VolumeCapabilities: []*csi.VolumeCapability{rwo}})
	wantCode(t, err, codes.NotFound)
	_, err = c.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: id})
	wantCode(t, err, codes.InvalidArgument)

	thin, err := c.GetCapacity(ctx, &csi.GetCapacityRequest{})
	if err != nil || thin.GetAvailableCapacity() != 2<<30-8*mib {
		t.Fatalf("thin capacity = %v, %v", thin, err)
	}
	thick, err := c.GetCapacity(ctx, &csi.GetCapacityRequest{Parameters: map[string]string{"provisioning": "thick"}})
	if err != nil || thick.GetAvailableCapacity() <= 0 || thick.GetAvailableCapacity() == thin.GetAvailableCapacity() {
		t.Fatalf("thick capacity = %v, %v", thick, err)
	}
	_, err = c.GetCapacity(ctx, &csi.GetCapacityRequest{Parameters: map[string]string{"color": "red"}})
	wantCode(t, err, codes.InvalidArgument)
}
