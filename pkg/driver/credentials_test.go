package driver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm/lvmfake"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt/tgtfake"
)

// boundPasswords returns the passwords of the CHAP accounts tgtd has bound
// to the target named iqn.
func boundPasswords(t *testing.T, tg *tgtfake.Fake, iqn string) []string {
	t.Helper()
	targets, err := tg.ListTargets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, target := range targets {
		if target.IQN != iqn {
			continue
		}
		for _, user := range target.Accounts {
			if pw, ok := tg.Password(user); ok {
				out = append(out, pw)
			}
		}
	}
	return out
}

// publish_context ends up in VolumeAttachment.status.attachmentMetadata,
// which far more people and tools can read than the storage host (and
// kube-state-metrics exports): no CHAP password may be in it in clear.
func TestPublishContextHoldsNoClearCredential(t *testing.T) {
	c, _, tg := newController(t)
	ctx := context.Background()
	vol, err := c.CreateVolume(ctx, createReq("pvc-1", 8*mib, nil))
	if err != nil {
		t.Fatal(err)
	}
	id := vol.GetVolume().GetVolumeId()
	resp, err := c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: testNodeA, VolumeCapability: rwo})
	if err != nil {
		t.Fatal(err)
	}
	passwords := boundPasswords(t, tg, DefaultIQNPrefix+":"+id)
	if len(passwords) == 0 {
		t.Fatal("no CHAP account bound to the target")
	}
	for k, v := range resp.GetPublishContext() {
		for _, pw := range passwords {
			if strings.Contains(v, pw) {
				t.Errorf("publish_context[%q] holds a CHAP password in clear", k)
			}
		}
	}
}

// With CHAP on, credentials can only be handed to a node that can open
// them: a node id without a public key (a node plugin older than the
// controller) is refused before anything is recorded or exported.
func TestNodeIDWithoutKeyIsRefused(t *testing.T) {
	c, l, tg := newController(t)
	ctx := context.Background()
	vol, err := c.CreateVolume(ctx, createReq("pvc-1", 8*mib, nil))
	if err != nil {
		t.Fatal(err)
	}
	id := vol.GetVolume().GetVolumeId()
	_, err = c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id,
		NodeId: "node-a/iqn.1993-08.org.debian:01:aaaa", VolumeCapability: rwo})
	wantCode(t, err, codes.FailedPrecondition)
	if targets, _ := tg.ListTargets(ctx); len(targets) != 0 {
		t.Errorf("a target was exported: %+v", targets)
	}
	lv, _ := l.GetLV(ctx, "vg0", id)
	for _, tag := range lv.Tags {
		if strings.HasPrefix(tag, "lic.pub=") {
			t.Errorf("the publication was recorded: %s", tag)
		}
	}
}

// The driver has no use for CSI secrets (mutual CHAP from a StorageClass
// is not supported): a request that carries some is refused, so that a
// StorageClass configured for it fails loudly instead of seeming to work.
func TestRequestsWithSecretsAreRefused(t *testing.T) {
	secrets := map[string]string{"mutualUser": "target", "mutualPassword": "s3cret-s3cret"}
	c, l, tg := newController(t)
	ctx := context.Background()

	req := createReq("pvc-secret", 8*mib, nil)
	req.Secrets = secrets
	_, err := c.CreateVolume(ctx, req)
	wantCode(t, err, codes.InvalidArgument)
	if lvs, _ := l.ListLVs(ctx, "vg0"); len(lvs) != 1 { // the thin pool
		t.Errorf("LVs after a refused create: %+v", lvs)
	}

	vol, err := c.CreateVolume(ctx, createReq("pvc-1", 8*mib, nil))
	if err != nil {
		t.Fatal(err)
	}
	id := vol.GetVolume().GetVolumeId()
	_, err = c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: testNodeA,
		VolumeCapability: rwo, Secrets: secrets})
	wantCode(t, err, codes.InvalidArgument)
	if targets, _ := tg.ListTargets(ctx); len(targets) != 0 {
		t.Errorf("a target was exported: %+v", targets)
	}

	n := newNodeTest(t, nil)
	n.disks.add(t, nodeVolA, nodeVolA)
	stage := n.stageReq(nodeVolA, nodeFsCap("ext4"))
	stage.Secrets = secrets
	_, err = n.srv.NodeStageVolume(t.Context(), stage)
	nodeWantCode(t, err, codes.InvalidArgument)
	if logins := n.ini.Logins(); len(logins) != 0 {
		t.Errorf("logged in to %v", logins)
	}
	_, err = n.srv.NodePublishVolume(t.Context(), &csi.NodePublishVolumeRequest{VolumeId: nodeVolA,
		StagingTargetPath: n.stagingPath(nodeVolA), TargetPath: n.targetPath(nodeVolA),
		VolumeCapability: nodeFsCap("ext4"), Secrets: secrets})
	nodeWantCode(t, err, codes.InvalidArgument)

	// Taking things down never depends on secrets: a volume must stay
	// deletable whatever the StorageClass says.
	if _, err := c.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id, Secrets: secrets}); err != nil {
		t.Fatalf("DeleteVolume with secrets: %v", err)
	}
}

func TestNodeIDCarriesTheKey(t *testing.T) {
	node, key, err := parseNodeID(testNodeA)
	if err != nil || key == nil || *key != testKeyA.Public || node.Initiator != "iqn.1993-08.org.debian:01:aaaa" || node.ID != testNodeA {
		t.Fatalf("parseNodeID(%q) = %+v, %v, %v", testNodeA, node, key, err)
	}
	// 0.1's form parses, without a key (ControllerPublishVolume then
	// refuses it while CHAP is on; ControllerUnpublishVolume still works).
	if node, key, err := parseNodeID("node-a/iqn.1993-08.org.debian:01:aaaa"); err != nil || key != nil || node.Initiator != "iqn.1993-08.org.debian:01:aaaa" {
		t.Fatalf("0.1's node id: %+v, %v, %v", node, key, err)
	}
	long := NodeID(strings.Repeat("n", 100), "iqn.1993-08.org.debian:01:"+strings.Repeat("a", 40), &testKeyA.Public)
	for _, bad := range []string{
		"node-a/iqn.1993-08.org.debian:01:aaaa/not-a-key",
		"node-a/iqn.1993-08.org.debian:01:aaaa/",
		testNodeA + "/" + publish.EncodePublicKey(&testKeyB.Public),
		"node-a//" + publish.EncodePublicKey(&testKeyA.Public),
		long,
	} {
		if _, _, err := parseNodeID(bad); status.Code(toStatus(err)) != codes.NotFound {
			t.Errorf("parseNodeID(%q) = %v, want NotFound", bad, err)
		}
	}
	if err := CheckNodeID(long); err == nil {
		t.Errorf("a %d-byte node id passed CheckNodeID", len(long))
	}
}

func TestLoadNodeKeyCreatesOnceAndKeeps(t *testing.T) {
	dir := t.TempDir()
	k, err := LoadNodeKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, nodeKeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", info, err)
	}
	again, err := LoadNodeKey(dir)
	if err != nil || again.Public != k.Public || again.Private != k.Private {
		t.Fatalf("a restart got another key: %v", err)
	}
	// A file that holds no key stops the plugin rather than being replaced.
	if err := os.WriteFile(filepath.Join(dir, nodeKeyFile), []byte("x25519 not base64\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadNodeKey(dir); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Fatalf("LoadNodeKey over a broken file = %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, nodeKeyFile)); string(b) != "x25519 not base64\n" {
		t.Fatal("the broken key file was overwritten")
	}
}

// Volumes attached by 0.1 have clear credentials in their
// VolumeAttachments; the node still stages them with those.
func TestNodeStageReadsLegacyClearCredentials(t *testing.T) {
	n := newNodeTest(t, nil)
	dev := n.disks.add(t, nodeVolA, nodeVolA)
	n.expectCommands(recordedExec(t, "blkid_ext4", dev), recordedExec(t, "fsck_clean", dev))
	req := n.stageReq(nodeVolA, nodeFsCap("ext4"))
	delete(req.PublishContext, publish.KeyCHAP)
	req.PublishContext[publish.KeyCHAPUser] = "legacy-user"
	req.PublishContext[publish.KeyCHAPPassword] = "legacy-password"
	if _, err := n.srv.NodeStageVolume(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if logins := n.ini.Logins(); len(logins) != 1 || logins[0].CHAP == nil || logins[0].CHAP.User != "legacy-user" || logins[0].CHAP.Password != "legacy-password" {
		t.Fatalf("logins %+v", logins)
	}
}

// The whole chain after the controller loses its --state-dir (and tgtd
// restarts too): the publish_context a VolumeAttachment kept from before
// still opens on the node to credentials tgtd accepts.
func TestOldPublishContextStillLogsInAfterControllerStateLoss(t *testing.T) {
	l := lvmfake.New("vg0", 8<<30, 4<<20)
	tg := tgtfake.New()
	keyDev := pool.NewMemoryKeyDevice() // the VG's LV contents
	stateDir := filepath.Join(t.TempDir(), "chap")
	newPool := func() *pool.Pool {
		secrets, err := pool.NewFileSecretsOn(stateDir, keyDev)
		if err != nil {
			t.Fatal(err)
		}
		p, err := pool.New(pool.Config{VolumeGroup: "vg0", Portal: "192.0.2.10:3260", IQNPrefix: DefaultIQNPrefix, CHAP: true}, l, tg, secrets, noWipe{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	ctx := context.Background()
	c := NewControllerServer(newPool())
	vol, err := c.CreateVolume(ctx, createReq("pvc-1", 8*mib, nil))
	if err != nil {
		t.Fatal(err)
	}
	id := vol.GetVolume().GetVolumeId()
	resp, err := c.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: testNodeA, VolumeCapability: rwo})
	if err != nil {
		t.Fatal(err)
	}
	kept := resp.GetPublishContext() // what the VolumeAttachment holds

	if err := os.RemoveAll(stateDir); err != nil {
		t.Fatal(err)
	}
	tg.Restart()
	if err := newPool().Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	creds, err := chapFrom(id, kept, testKeyA)
	if err != nil {
		t.Fatal(err)
	}
	targets, _ := tg.ListTargets(ctx)
	if len(targets) != 1 {
		t.Fatalf("targets after the reconcile: %+v", targets)
	}
	if _, err := tg.Login(targets[0].TID, "iqn.1993-08.org.debian:01:aaaa", "192.0.2.21", creds.User, creds.Password); err != nil {
		t.Fatalf("the node's kept credentials are refused: %v", err)
	}
}

func TestInterceptorMasksSealedCredentials(t *testing.T) {
	logs := captureLogs(t, "5")
	sealed := sealFor(&nodeTestKey.Public, nodeVolA)
	req := &csi.NodeStageVolumeRequest{VolumeId: nodeVolA, PublishContext: map[string]string{publish.KeyCHAP: sealed}}
	info := &grpc.UnaryServerInfo{FullMethod: "/csi.v1.Node/NodeStageVolume"}
	if _, err := logAndRecover(context.Background(), req, info, func(context.Context, any) (any, error) { return &csi.NodeStageVolumeResponse{}, nil }); err != nil {
		t.Fatal(err)
	}
	klog.Flush()
	if strings.Contains(logs.String(), sealed[:40]) {
		t.Fatalf("sealed credentials reached the log: %s", logs)
	}
}
