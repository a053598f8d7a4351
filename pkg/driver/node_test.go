package driver

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"k8s.io/mount-utils"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi/iscsifake"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
)

func TestNodeGetInfoAndCapabilities(t *testing.T) {
	n := newNodeTest(t, nil)
	info, err := n.srv.NodeGetInfo(t.Context(), &csi.NodeGetInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.GetNodeId() != nodeTestNodeID || info.GetMaxVolumesPerNode() != 64 {
		t.Errorf("NodeGetInfo = %v, want node id %s and 64 volumes", info, nodeTestNodeID)
	}

	resp, err := n.srv.NodeGetCapabilities(t.Context(), &csi.NodeGetCapabilitiesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[csi.NodeServiceCapability_RPC_Type]bool{}
	for _, c := range resp.GetCapabilities() {
		got[c.GetRpc().GetType()] = true
	}
	for _, want := range []csi.NodeServiceCapability_RPC_Type{
		csi.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME,
		csi.NodeServiceCapability_RPC_GET_VOLUME_STATS,
		csi.NodeServiceCapability_RPC_EXPAND_VOLUME,
		csi.NodeServiceCapability_RPC_GET_VOLUME_HEALTH,
	} {
		if !got[want] {
			t.Errorf("capabilities %v lack %s", got, want)
		}
	}
}

// Nothing a request says may make the node log in, write a record, run a
// tool or mount when the request is invalid.
func TestNodeStageVolumeRejectsBadRequests(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(n *nodeTest, r *csi.NodeStageVolumeRequest)
		code   codes.Code
	}{
		{"no volume id", func(n *nodeTest, r *csi.NodeStageVolumeRequest) { r.VolumeId = "" }, codes.InvalidArgument},
		{"volume id of another form", func(n *nodeTest, r *csi.NodeStageVolumeRequest) { r.VolumeId = "pvc-123" }, codes.NotFound},
		{"no staging path", func(n *nodeTest, r *csi.NodeStageVolumeRequest) { r.StagingTargetPath = "" }, codes.InvalidArgument},
		{"relative staging path", func(n *nodeTest, r *csi.NodeStageVolumeRequest) { r.StagingTargetPath = "plugins/x" }, codes.InvalidArgument},
		{"staging path outside the kubelet dir", func(n *nodeTest, r *csi.NodeStageVolumeRequest) {
			r.StagingTargetPath = "/var/lib/elsewhere/globalmount"
		}, codes.InvalidArgument},
		{"staging path escaping with ..", func(n *nodeTest, r *csi.NodeStageVolumeRequest) {
			r.StagingTargetPath = n.kubelet + "/plugins/../../etc"
		}, codes.InvalidArgument},
		{"staging path that is the kubelet dir", func(n *nodeTest, r *csi.NodeStageVolumeRequest) { r.StagingTargetPath = n.kubelet }, codes.InvalidArgument},
		{"staging path in a sibling with the kubelet dir as prefix", func(n *nodeTest, r *csi.NodeStageVolumeRequest) {
			r.StagingTargetPath = n.kubelet + "-evil/globalmount"
		}, codes.InvalidArgument},
		{"no capability", func(n *nodeTest, r *csi.NodeStageVolumeRequest) { r.VolumeCapability = nil }, codes.InvalidArgument},
		{"unsupported fs type", func(n *nodeTest, r *csi.NodeStageVolumeRequest) { r.VolumeCapability = nodeFsCap("btrfs") }, codes.InvalidArgument},
		{"IQN of another volume", func(n *nodeTest, r *csi.NodeStageVolumeRequest) { r.PublishContext[publish.KeyIQN] = nodeIQN(nodeVolB) }, codes.InvalidArgument},
		{"IQN ending in the id without the colon", func(n *nodeTest, r *csi.NodeStageVolumeRequest) {
			r.PublishContext[publish.KeyIQN] = nodeTestIQNBase + ":x" + nodeVolA
		}, codes.InvalidArgument},
		{"no IQN", func(n *nodeTest, r *csi.NodeStageVolumeRequest) { delete(r.PublishContext, publish.KeyIQN) }, codes.InvalidArgument},
		{"portal host name", func(n *nodeTest, r *csi.NodeStageVolumeRequest) {
			r.PublishContext[publish.KeyPortal] = "storage.example:3260"
		}, codes.InvalidArgument},
		{"LUN not a number", func(n *nodeTest, r *csi.NodeStageVolumeRequest) { r.PublishContext[publish.KeyLUN] = "one" }, codes.InvalidArgument},
		{"LUN out of range", func(n *nodeTest, r *csi.NodeStageVolumeRequest) { r.PublishContext[publish.KeyLUN] = "256" }, codes.InvalidArgument},
		{"0.1's CHAP user without password", func(n *nodeTest, r *csi.NodeStageVolumeRequest) {
			delete(r.PublishContext, publish.KeyCHAP)
			r.PublishContext[publish.KeyCHAPUser] = nodeTestCHAPUser
		}, codes.InvalidArgument},
		{"0.1's CHAP password without user", func(n *nodeTest, r *csi.NodeStageVolumeRequest) {
			delete(r.PublishContext, publish.KeyCHAP)
			r.PublishContext[publish.KeyCHAPPassword] = nodeTestCHAPPass
		}, codes.InvalidArgument},
		{"sealed and clear CHAP at once", func(n *nodeTest, r *csi.NodeStageVolumeRequest) {
			r.PublishContext[publish.KeyCHAPUser] = nodeTestCHAPUser
			r.PublishContext[publish.KeyCHAPPassword] = nodeTestCHAPPass
		}, codes.InvalidArgument},
		{"CHAP sealed to another node", func(n *nodeTest, r *csi.NodeStageVolumeRequest) {
			r.PublishContext[publish.KeyCHAP] = sealFor(&testKeyB.Public, nodeVolA)
		}, codes.FailedPrecondition},
		{"CHAP sealed for another volume", func(n *nodeTest, r *csi.NodeStageVolumeRequest) {
			r.PublishContext[publish.KeyCHAP] = sealFor(&nodeTestKey.Public, nodeVolB)
		}, codes.InvalidArgument},
		{"CHAP not sealed at all", func(n *nodeTest, r *csi.NodeStageVolumeRequest) { r.PublishContext[publish.KeyCHAP] = "hunter2" }, codes.InvalidArgument},
		{"secrets", func(n *nodeTest, r *csi.NodeStageVolumeRequest) { r.Secrets = map[string]string{"password_in": "x"} }, codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNodeTest(t, nil)
			n.disks.add(t, nodeVolA, nodeVolA)
			req := n.stageReq(nodeVolA, nodeFsCap("ext4"))
			tc.change(n, req)
			_, err := n.srv.NodeStageVolume(t.Context(), req)
			nodeWantCode(t, err, tc.code)
			if logins := n.ini.Logins(); len(logins) != 0 {
				t.Errorf("logged in to %v", logins)
			}
			if n.hasRecord(nodeVolA) {
				t.Errorf("a stage record was written")
			}
			if calls := n.mounter.take(); len(calls) != 0 {
				t.Errorf("mounted %v", calls)
			}
		})
	}
}

func TestNodeStageVolumeFilesystem(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fsType   string
		commands []string // recorded cases, in order
		mounted  string   // fs type mounted; "" when staging must fail
		code     codes.Code
	}{
		{"unformatted disk gets ext4 by default", "", []string{"blkid_unformatted", "mkfs_ext4"}, "ext4", codes.OK},
		{"unformatted disk gets the xfs asked for", "xfs", []string{"blkid_unformatted", "mkfs_xfs"}, "xfs", codes.OK},
		{"a filesystem is checked, never formatted", "ext4", []string{"blkid_ext4", "fsck_clean"}, "ext4", codes.OK},
		{"a disk blkid cannot read is not formatted", "ext4", []string{"blkid_ambivalent"}, "", codes.Internal},
		{"a failed mkfs is not mounted", "ext4", []string{"blkid_unformatted", "mkfs_ext4_missing"}, "", codes.Internal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNodeTest(t, nil)
			dev := n.disks.add(t, nodeVolA, nodeVolA)
			var script []execCall
			for _, name := range tc.commands {
				script = append(script, recordedExec(t, name, dev))
			}
			n.expectCommands(script...)
			staging := n.stagingPath(nodeVolA)

			_, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeFsCap(tc.fsType, "noatime")))
			nodeWantCode(t, err, tc.code)

			want := iscsi.Target{Portal: nodeTestPortal, IQN: nodeIQN(nodeVolA), LUN: 1,
				CHAP: &iscsi.CHAP{User: nodeTestCHAPUser, Password: nodeTestCHAPPass}}
			if logins := n.ini.Logins(); len(logins) != 1 || !sameTarget(logins[0], want) {
				t.Errorf("logins %v, want one to %v with the CHAP of publish_context", logins, want)
			}
			calls := n.mounter.take()
			if tc.mounted == "" {
				if len(calls) != 0 || n.mounter.isMounted(t, staging) {
					t.Errorf("mounted %v after a failure", calls)
				}
				return
			}
			if len(calls) != 1 || calls[0].source != dev || calls[0].target != staging || calls[0].fsType != tc.mounted ||
				!slices.Contains(calls[0].options, "noatime") || slices.Contains(calls[0].options, "ro") {
				t.Errorf("mounts %+v, want %s of %s at %s with noatime", calls, tc.mounted, dev, staging)
			}
			if !n.mounter.isMounted(t, staging) {
				t.Errorf("%s is not mounted", staging)
			}
		})
	}
}

// accessType names a capability's access type for subtest names (which
// become directory names: mount-utils cannot parse a device path with "="
// in blkid's output).
func accessType(c *csi.VolumeCapability) string {
	if c.GetBlock() != nil {
		return "block"
	}
	return "filesystem"
}

func sameTarget(a, b iscsi.Target) bool {
	if a.Portal != b.Portal || a.IQN != b.IQN || a.LUN != b.LUN || (a.CHAP == nil) != (b.CHAP == nil) {
		return false
	}
	return a.CHAP == nil || *a.CHAP == *b.CHAP
}

func TestNodeStageVolumeRetryConvergesWithoutFormatting(t *testing.T) {
	n := newNodeTest(t, nil)
	dev := n.disks.add(t, nodeVolA, nodeVolA)
	n.expectCommands(recordedExec(t, "blkid_unformatted", dev), recordedExec(t, "mkfs_ext4", dev))
	if _, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeFsCap("ext4"))); err != nil {
		t.Fatal(err)
	}
	n.mounter.take()

	// Staged: a retry runs no tool (expectCommands with none) and mounts
	// nothing more.
	n.expectCommands()
	if _, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeFsCap("ext4"))); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if calls := n.mounter.take(); len(calls) != 0 {
		t.Errorf("retry mounted %v", calls)
	}
	if mps, _ := n.mounter.List(); len(mps) != 1 {
		t.Errorf("mount table %v, want the one staging mount", mps)
	}
}

// The mount table may name the disk by another path than the one found
// after the login (a udev link, the kernel name): it is the same disk.
func TestNodeStageVolumeRetryRecognisesTheDiskUnderAnotherName(t *testing.T) {
	n := newNodeTest(t, nil)
	dev := n.disks.add(t, nodeVolA, nodeVolA)
	link := filepath.Join(t.TempDir(), "ip-"+nodeTestPortal+"-iscsi-"+nodeIQN(nodeVolA)+"-lun-1")
	if err := os.Symlink(dev, link); err != nil {
		t.Fatal(err)
	}
	staging := n.stagingPath(nodeVolA)
	if err := os.MkdirAll(staging, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := n.mounter.FakeMounter.Mount(link, staging, "ext4", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeFsCap("ext4"))); err != nil {
		t.Fatal(err)
	}
	if calls := n.mounter.take(); len(calls) != 0 {
		t.Errorf("mounted %v", calls)
	}
}

func TestNodeStageVolumeRefusesAStagingPathHoldingAnotherDisk(t *testing.T) {
	n := newNodeTest(t, nil)
	n.disks.add(t, nodeVolA, nodeVolA)
	other := n.disks.add(t, nodeVolB, nodeVolB)
	staging := n.stagingPath(nodeVolA)
	if err := os.MkdirAll(staging, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := n.mounter.FakeMounter.Mount(other, staging, "ext4", nil); err != nil {
		t.Fatal(err)
	}
	_, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeFsCap("ext4")))
	nodeWantCode(t, err, codes.AlreadyExists)
	if calls := n.mounter.take(); len(calls) != 0 {
		t.Errorf("mounted %v", calls)
	}
}

// The wrong-disk protection: a disk whose serial is not the volume id is
// never formatted or mounted, whatever the access type.
func TestNodeStageVolumeSerialMismatchTouchesNothing(t *testing.T) {
	for _, c := range []*csi.VolumeCapability{nodeFsCap("ext4"), nodeBlockCap()} {
		t.Run(accessType(c), func(t *testing.T) {
			n := newNodeTest(t, nil)
			n.disks.add(t, nodeVolA, nodeVolB) // another volume's disk behind A's name
			// No command is scripted: blkid or mkfs would fail the test.
			_, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, c))
			nodeWantCode(t, err, codes.FailedPrecondition)
			if calls := n.mounter.take(); len(calls) != 0 {
				t.Errorf("mounted %v", calls)
			}
			if n.mounter.isMounted(t, n.stagingPath(nodeVolA)) {
				t.Errorf("staging path mounted")
			}
			// The session showing the wrong disk is closed at once, and,
			// the error being final for kubelet, nothing else is left
			// (TestNodeStageVolumeFinalErrorLeavesNothing).
			if n.ini.LoggedIn(nodeTestPortal, nodeIQN(nodeVolA)) {
				t.Errorf("still logged in to a target that shows another volume's disk")
			}
			if n.hasRecord(nodeVolA) {
				t.Errorf("stage record left after a final error")
			}
		})
	}
}

func TestNodeStageVolumeBlockLogsInAndChecksTheDiskOnly(t *testing.T) {
	n := newNodeTest(t, nil)
	n.disks.add(t, nodeVolA, nodeVolA)
	if _, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeBlockCap())); err != nil {
		t.Fatal(err)
	}
	if !n.ini.LoggedIn(nodeTestPortal, nodeIQN(nodeVolA)) {
		t.Errorf("not logged in")
	}
	if calls := n.mounter.take(); len(calls) != 0 {
		t.Errorf("mounted %v", calls)
	}
	if !n.hasRecord(nodeVolA) {
		t.Errorf("no stage record")
	}
	// A retry converges.
	if _, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeBlockCap())); err != nil {
		t.Fatalf("retry: %v", err)
	}
}

// The record is written before the login, so a login that fails with a
// code kubelet does not take as final (after which it calls
// NodeUnstageVolume), or a crash during it, leaves what
// NodeUnstageVolume needs; it never holds the CHAP credentials.
func TestNodeStageVolumeRecordsBeforeLogin(t *testing.T) {
	var n *nodeTest
	recordedAtLogin := false
	n = newNodeTest(t, func(f *iscsifake.Initiator) iscsi.Initiator {
		return &hookedInitiator{Initiator: f, beforeLogin: func(iscsi.Target) { recordedAtLogin = n.hasRecord(nodeVolA) }}
	})
	n.disks.add(t, nodeVolA, nodeVolA)
	n.ini.FailNext(iscsifake.Login, fmt.Errorf("%w: exit status 8", iscsi.ErrLoginFailed)) // portal unreachable
	_, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeFsCap("ext4")))
	nodeWantCode(t, err, codes.Unavailable)
	if len(n.ini.Logins()) != 1 || !recordedAtLogin {
		t.Fatalf("logins %v; record there at login: %v", n.ini.Logins(), recordedAtLogin)
	}
	raw, err := os.ReadFile(n.recordFile(nodeVolA))
	if err != nil {
		t.Fatalf("no stage record after a failed login: %v", err)
	}
	if !bytes.Contains(raw, []byte(nodeIQN(nodeVolA))) || !bytes.Contains(raw, []byte(nodeTestPortal)) {
		t.Errorf("record %s lacks the target", raw)
	}
	for _, secret := range []string{nodeTestCHAPUser, nodeTestCHAPPass} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("record %s holds CHAP credential %q", raw, secret)
		}
	}
	if fi, err := os.Stat(n.recordFile(nodeVolA)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("record mode %v (%v), want 0600", fi.Mode(), err)
	}
}

func TestNodeStageVolumeDiskNeverShowingUp(t *testing.T) {
	n := newNodeTest(t, nil) // no disk behind the target
	_, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeFsCap("ext4")))
	if err == nil {
		t.Fatal("staging succeeded without a disk")
	}
	if calls := n.mounter.take(); len(calls) != 0 {
		t.Errorf("mounted %v", calls)
	}
	// What it left behind, unstage cleans up.
	if _, err := n.srv.NodeUnstageVolume(t.Context(), n.unstageReq(nodeVolA)); err != nil {
		t.Fatal(err)
	}
	if n.ini.LoggedIn(nodeTestPortal, nodeIQN(nodeVolA)) || n.hasRecord(nodeVolA) {
		t.Errorf("session or record left after unstage")
	}
}

// hookedInitiator is the fake initiator with a hook run at the start of
// every Login.
type hookedInitiator struct {
	*iscsifake.Initiator
	beforeLogin func(t iscsi.Target)
}

func (h *hookedInitiator) Login(ctx context.Context, t iscsi.Target) error {
	h.beforeLogin(t)
	return h.Initiator.Login(ctx, t)
}

func TestNodeStageVolumeConcurrentCallIsAborted(t *testing.T) {
	// The first login to volume A stops until release is closed; later
	// ones go through, so a missing lock fails the test instead of hanging.
	var blocked atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	letGo := sync.OnceFunc(func() { close(release) })
	t.Cleanup(letGo) // when the test stops early
	n := newNodeTest(t, func(f *iscsifake.Initiator) iscsi.Initiator {
		return &hookedInitiator{Initiator: f, beforeLogin: func(t iscsi.Target) {
			if t.IQN == nodeIQN(nodeVolA) && blocked.CompareAndSwap(false, true) {
				close(entered)
				<-release
			}
		}}
	})
	n.disks.add(t, nodeVolA, nodeVolA)
	n.disks.add(t, nodeVolB, nodeVolB)

	first := make(chan error, 1)
	go func() {
		_, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeBlockCap()))
		first <- err
	}()
	<-entered

	_, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeBlockCap()))
	nodeWantCode(t, err, codes.Aborted)
	_, err = n.srv.NodeUnstageVolume(t.Context(), n.unstageReq(nodeVolA))
	nodeWantCode(t, err, codes.Aborted)
	// Another volume is not held up by it.
	if _, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolB, nodeBlockCap())); err != nil {
		t.Fatalf("staging another volume meanwhile: %v", err)
	}

	letGo()
	if err := <-first; err != nil {
		t.Fatalf("first stage: %v", err)
	}
	if logins := n.ini.Logins(); len(logins) != 2 {
		t.Errorf("logins %v, want one per volume (the aborted call must not log in)", logins)
	}
	// Released: the next call goes through.
	if _, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeBlockCap())); err != nil {
		t.Fatalf("stage after the first finished: %v", err)
	}
}

func TestNodeUnstageVolumeTearsDownItsTargetOnly(t *testing.T) {
	n := newNodeTest(t, nil)
	devA := n.disks.add(t, nodeVolA, nodeVolA)
	devB := n.disks.add(t, nodeVolB, nodeVolB)
	n.stage(nodeVolA, devA, nodeFsCap("ext4"))
	n.stage(nodeVolB, devB, nodeBlockCap())
	staging := n.stagingPath(nodeVolA)

	if _, err := n.srv.NodeUnstageVolume(t.Context(), n.unstageReq(nodeVolA)); err != nil {
		t.Fatal(err)
	}
	if n.mounter.isMounted(t, staging) || nodePathExists(t, staging) {
		t.Errorf("%s still mounted or present", staging)
	}
	if got, want := n.disks.removed(), []fakeRemoval{{devA, true}}; !slices.Equal(got, want) {
		t.Errorf("removals %v, want %v (the disk, before the logout)", got, want)
	}
	nodeA := iscsifake.Node{Portal: nodeTestPortal, IQN: nodeIQN(nodeVolA)}
	if got := n.ini.Logouts(); !slices.Equal(got, []iscsifake.Node{nodeA}) {
		t.Errorf("logouts %v, want %v", got, nodeA)
	}
	if got := n.ini.Deletes(); !slices.Equal(got, []iscsifake.Node{nodeA}) {
		t.Errorf("record deletions %v, want %v", got, nodeA)
	}
	if n.ini.LoggedIn(nodeTestPortal, nodeIQN(nodeVolA)) || n.hasRecord(nodeVolA) {
		t.Errorf("session or stage record of A left")
	}
	if !n.ini.LoggedIn(nodeTestPortal, nodeIQN(nodeVolB)) || !n.hasRecord(nodeVolB) {
		t.Errorf("volume B's session or record was touched")
	}

	// Called again (the CO retries when it missed the answer): success,
	// nothing more removed.
	if _, err := n.srv.NodeUnstageVolume(t.Context(), n.unstageReq(nodeVolA)); err != nil {
		t.Fatalf("second unstage: %v", err)
	}
	if got := n.disks.removed(); len(got) != 1 {
		t.Errorf("removals after the second call %v", got)
	}
	if !n.ini.LoggedIn(nodeTestPortal, nodeIQN(nodeVolB)) {
		t.Errorf("the second call logged out of B")
	}
}

func TestNodeUnstageVolumeToleratesWhatIsGone(t *testing.T) {
	for _, tc := range []struct {
		name    string
		breakIt func(n *nodeTest)
		removed int
	}{
		{"disk already gone", func(n *nodeTest) { n.disks.vanish(nodeVolA) }, 0},
		{"session already gone", func(n *nodeTest) {
			if err := n.ini.Logout(n.t.Context(), nodeTestPortal, nodeIQN(nodeVolA)); err != nil {
				n.t.Fatal(err)
			}
		}, 0},
		{"stage record lost", func(n *nodeTest) {
			if err := os.Remove(n.recordFile(nodeVolA)); err != nil {
				n.t.Fatal(err)
			}
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNodeTest(t, nil)
			devA := n.disks.add(t, nodeVolA, nodeVolA)
			devB := n.disks.add(t, nodeVolB, nodeVolB)
			n.stage(nodeVolA, devA, nodeFsCap("ext4"))
			n.stage(nodeVolB, devB, nodeBlockCap())
			tc.breakIt(n)

			if _, err := n.srv.NodeUnstageVolume(t.Context(), n.unstageReq(nodeVolA)); err != nil {
				t.Fatal(err)
			}
			if got := n.disks.removed(); len(got) != tc.removed || (tc.removed == 1 && got[0] != (fakeRemoval{devA, true})) {
				t.Errorf("removals %v, want %d of %s", got, tc.removed, devA)
			}
			if n.ini.LoggedIn(nodeTestPortal, nodeIQN(nodeVolA)) || n.hasRecord(nodeVolA) {
				t.Errorf("session or stage record of A left")
			}
			if _, ok := n.ini.Record(nodeTestPortal, nodeIQN(nodeVolA)); ok {
				t.Errorf("iscsiadm node record of A left")
			}
			if !n.ini.LoggedIn(nodeTestPortal, nodeIQN(nodeVolB)) || !n.hasRecord(nodeVolB) {
				t.Errorf("volume B's session or record was touched")
			}
			if n.mounter.isMounted(t, n.stagingPath(nodeVolA)) {
				t.Errorf("staging path still mounted")
			}
		})
	}
}

// After a reboot with the state directory lost, the sessions iscsid
// restored are found by the volume id at the end of their IQN.
func TestNodeUnstageVolumeWithoutRecordFindsTheSession(t *testing.T) {
	n := newNodeTest(t, nil)
	n.ini.AddSession(nodeTestPortal, nodeIQN(nodeVolA))
	n.ini.AddSession(nodeTestPortal, nodeIQN(nodeVolB))
	lookalike := "iqn.2026-11.io.other:x" + nodeVolA // ends in the id, not in ":"+id
	n.ini.AddSession(nodeTestPortal, lookalike)
	devA := n.disks.add(t, nodeVolA, nodeVolA)
	n.disks.add(t, nodeVolB, nodeVolB)

	if _, err := n.srv.NodeUnstageVolume(t.Context(), n.unstageReq(nodeVolA)); err != nil {
		t.Fatal(err)
	}
	if got, want := n.disks.removed(), []fakeRemoval{{devA, true}}; !slices.Equal(got, want) {
		t.Errorf("removals %v, want %v", got, want)
	}
	nodeA := iscsifake.Node{Portal: nodeTestPortal, IQN: nodeIQN(nodeVolA)}
	if got := n.ini.Logouts(); !slices.Equal(got, []iscsifake.Node{nodeA}) {
		t.Errorf("logouts %v, want only %v", got, nodeA)
	}
	if !n.ini.LoggedIn(nodeTestPortal, nodeIQN(nodeVolB)) || !n.ini.LoggedIn(nodeTestPortal, lookalike) {
		t.Errorf("other sessions were logged out")
	}
}

// A session to the volume's target at another portal than the recorded
// one (the storage host's address changed) is logged out too, and each
// session once.
func TestNodeUnstageVolumeLogsOutOfTheVolumeAtEveryPortal(t *testing.T) {
	n := newNodeTest(t, nil)
	n.stage(nodeVolA, n.disks.add(t, nodeVolA, nodeVolA), nodeBlockCap())
	const otherPortal = "198.51.100.7:3260"
	n.ini.AddSession(otherPortal, nodeIQN(nodeVolA))

	if _, err := n.srv.NodeUnstageVolume(t.Context(), n.unstageReq(nodeVolA)); err != nil {
		t.Fatal(err)
	}
	got := n.ini.Logouts()
	slices.SortFunc(got, func(a, b iscsifake.Node) int { return strings.Compare(a.Portal, b.Portal) })
	want := []iscsifake.Node{{Portal: nodeTestPortal, IQN: nodeIQN(nodeVolA)}, {Portal: otherPortal, IQN: nodeIQN(nodeVolA)}}
	if !slices.Equal(got, want) {
		t.Errorf("logouts %v, want %v", got, want)
	}
	if n.ini.LoggedIn(otherPortal, nodeIQN(nodeVolA)) || n.ini.LoggedIn(nodeTestPortal, nodeIQN(nodeVolA)) {
		t.Errorf("a session to A is left")
	}
}

func TestNodeUnstageVolumeFailuresKeepTheRecord(t *testing.T) {
	t.Run("logout fails", func(t *testing.T) {
		n := newNodeTest(t, nil)
		n.stage(nodeVolA, n.disks.add(t, nodeVolA, nodeVolA), nodeBlockCap())
		n.ini.FailNext(iscsifake.Logout, fmt.Errorf("%w: exit status 20", iscsi.ErrDaemonUnavailable))
		if _, err := n.srv.NodeUnstageVolume(t.Context(), n.unstageReq(nodeVolA)); err == nil {
			t.Fatal("unstage succeeded although the logout failed")
		}
		if !n.hasRecord(nodeVolA) {
			t.Errorf("record deleted although the session may remain")
		}
		// The retry finishes the job.
		if _, err := n.srv.NodeUnstageVolume(t.Context(), n.unstageReq(nodeVolA)); err != nil {
			t.Fatal(err)
		}
		if n.ini.LoggedIn(nodeTestPortal, nodeIQN(nodeVolA)) || n.hasRecord(nodeVolA) {
			t.Errorf("session or record left after the retry")
		}
	})
	t.Run("unmount fails", func(t *testing.T) {
		n := newNodeTest(t, nil)
		n.stage(nodeVolA, n.disks.add(t, nodeVolA, nodeVolA), nodeFsCap("ext4"))
		n.mounter.UnmountFunc = func(string) error { return fmt.Errorf("target is busy") }
		_, err := n.srv.NodeUnstageVolume(t.Context(), n.unstageReq(nodeVolA))
		nodeWantCode(t, err, codes.Internal)
		// A mounted disk must not lose its session under the filesystem.
		if len(n.disks.removed()) != 0 || len(n.ini.Logouts()) != 0 || !n.hasRecord(nodeVolA) {
			t.Errorf("removed %v, logged out %v after a failed unmount", n.disks.removed(), n.ini.Logouts())
		}
	})
}

func TestNodeUnstageVolumeRejectsBadRequests(t *testing.T) {
	n := newNodeTest(t, nil)
	n.stage(nodeVolA, n.disks.add(t, nodeVolA, nodeVolA), nodeBlockCap())
	for _, tc := range []struct {
		name    string
		id, dir string
		code    codes.Code
	}{
		{"no volume id", "", n.stagingPath(nodeVolA), codes.InvalidArgument},
		{"volume id of another form", "pvc-123", n.stagingPath(nodeVolA), codes.NotFound},
		{"no staging path", nodeVolA, "", codes.InvalidArgument},
		{"staging path outside", nodeVolA, "/var/lib/elsewhere", codes.InvalidArgument},
		{"staging path with ..", nodeVolA, n.kubelet + "/a/../../b", codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := n.srv.NodeUnstageVolume(t.Context(), &csi.NodeUnstageVolumeRequest{VolumeId: tc.id, StagingTargetPath: tc.dir})
			nodeWantCode(t, err, tc.code)
		})
	}
	if len(n.ini.Logouts()) != 0 || len(n.disks.removed()) != 0 {
		t.Errorf("a rejected request logged out %v or removed %v", n.ini.Logouts(), n.disks.removed())
	}
}

func TestNodePublishVolumeFilesystem(t *testing.T) {
	for _, tc := range []struct {
		name     string
		readonly bool
		flags    []string
		options  []string
	}{
		{"read-write", false, nil, []string{"bind"}},
		{"read-only", true, nil, []string{"bind", "ro"}},
		{"with mount flags", false, []string{"noatime"}, []string{"bind", "noatime"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNodeTest(t, nil)
			n.stage(nodeVolA, n.disks.add(t, nodeVolA, nodeVolA), nodeFsCap("ext4"))
			target := n.targetPath(nodeVolA)
			req := n.publishReq(nodeVolA, nodeFsCap("ext4", tc.flags...), tc.readonly)
			if _, err := n.srv.NodePublishVolume(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			want := mountCall{source: n.stagingPath(nodeVolA), target: target, options: tc.options}
			if calls := n.mounter.take(); len(calls) != 1 || !sameMount(calls[0], want) {
				t.Errorf("mounts %+v, want %+v", calls, want)
			}
			if fi, err := os.Stat(target); err != nil || !fi.IsDir() {
				t.Errorf("target %s is not a directory (%v)", target, err)
			}
			// A retry is a no-op.
			if _, err := n.srv.NodePublishVolume(t.Context(), req); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if calls := n.mounter.take(); len(calls) != 0 {
				t.Errorf("retry mounted %v", calls)
			}
		})
	}
}

func sameMount(a, b mountCall) bool {
	return a.source == b.source && a.target == b.target && a.fsType == b.fsType && slices.Equal(a.options, b.options)
}

func TestNodePublishVolumeBlock(t *testing.T) {
	for _, readonly := range []bool{false, true} {
		t.Run(fmt.Sprintf("readonly %v", readonly), func(t *testing.T) {
			n := newNodeTest(t, nil)
			dev := n.disks.add(t, nodeVolA, nodeVolA)
			n.stage(nodeVolA, dev, nodeBlockCap())
			target := n.targetPath(nodeVolA)
			req := n.publishReq(nodeVolA, nodeBlockCap(), readonly)
			if _, err := n.srv.NodePublishVolume(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			opts := []string{"bind"}
			if readonly {
				opts = append(opts, "ro")
			}
			want := mountCall{source: dev, target: target, options: opts}
			if calls := n.mounter.take(); len(calls) != 1 || !sameMount(calls[0], want) {
				t.Errorf("mounts %+v, want %+v", calls, want)
			}
			if fi, err := os.Stat(target); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("target %s is not a file to bind the device onto (%v)", target, err)
			}
			if _, err := n.srv.NodePublishVolume(t.Context(), req); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if calls := n.mounter.take(); len(calls) != 0 {
				t.Errorf("retry mounted %v", calls)
			}
		})
	}
}

// A SINGLE_NODE_SINGLE_WRITER volume is published at one target only;
// the retry at that target still succeeds.
func TestNodePublishVolumeSingleWriter(t *testing.T) {
	for _, c := range []*csi.VolumeCapability{nodeFsCap("ext4"), nodeBlockCap()} {
		t.Run(accessType(c), func(t *testing.T) {
			c.AccessMode.Mode = csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER
			n := newNodeTest(t, nil)
			n.stage(nodeVolA, n.disks.add(t, nodeVolA, nodeVolA), c)
			req := n.publishReq(nodeVolA, c, false)
			for i := range 2 {
				if _, err := n.srv.NodePublishVolume(t.Context(), req); err != nil {
					t.Fatalf("call %d: %v", i+1, err)
				}
			}
			second := n.publishReq(nodeVolA, c, false)
			second.TargetPath = filepath.Join(n.kubelet, "pods/second/volumes/kubernetes.io~csi", nodeVolA, "mount")
			_, err := n.srv.NodePublishVolume(t.Context(), second)
			nodeWantCode(t, err, codes.FailedPrecondition)
			if calls := n.mounter.take(); len(calls) != 1 || nodePathExists(t, second.TargetPath) {
				t.Errorf("mounts %v; second target created: %v", calls, nodePathExists(t, second.TargetPath))
			}
		})
	}
}

func TestNodePublishVolumeNotStaged(t *testing.T) {
	t.Run("filesystem", func(t *testing.T) {
		n := newNodeTest(t, nil)
		_, err := n.srv.NodePublishVolume(t.Context(), n.publishReq(nodeVolA, nodeFsCap("ext4"), false))
		nodeWantCode(t, err, codes.FailedPrecondition)
		if calls := n.mounter.take(); len(calls) != 0 || nodePathExists(t, n.targetPath(nodeVolA)) {
			t.Errorf("mounted %v or created the target", calls)
		}
	})
	t.Run("filesystem staging dir not mounted", func(t *testing.T) {
		n := newNodeTest(t, nil)
		if err := os.MkdirAll(n.stagingPath(nodeVolA), 0o750); err != nil {
			t.Fatal(err)
		}
		_, err := n.srv.NodePublishVolume(t.Context(), n.publishReq(nodeVolA, nodeFsCap("ext4"), false))
		nodeWantCode(t, err, codes.FailedPrecondition)
		if calls := n.mounter.take(); len(calls) != 0 {
			t.Errorf("mounted %v", calls)
		}
	})
	t.Run("block", func(t *testing.T) {
		n := newNodeTest(t, nil)
		n.disks.add(t, nodeVolA, nodeVolA) // the disk exists, but no session
		_, err := n.srv.NodePublishVolume(t.Context(), n.publishReq(nodeVolA, nodeBlockCap(), false))
		nodeWantCode(t, err, codes.FailedPrecondition)
		if calls := n.mounter.take(); len(calls) != 0 || nodePathExists(t, n.targetPath(nodeVolA)) {
			t.Errorf("mounted %v or created the target", calls)
		}
	})
	t.Run("block with another volume's disk", func(t *testing.T) {
		n := newNodeTest(t, nil)
		n.stage(nodeVolA, n.disks.add(t, nodeVolA, nodeVolA), nodeBlockCap())
		n.disks.setSerial(nodeVolA, nodeVolB)
		_, err := n.srv.NodePublishVolume(t.Context(), n.publishReq(nodeVolA, nodeBlockCap(), false))
		nodeWantCode(t, err, codes.FailedPrecondition)
		if calls := n.mounter.take(); len(calls) != 0 {
			t.Errorf("mounted %v", calls)
		}
	})
}

func TestNodePublishVolumeRejectsBadRequests(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(n *nodeTest, r *csi.NodePublishVolumeRequest)
		code   codes.Code
	}{
		{"no volume id", func(n *nodeTest, r *csi.NodePublishVolumeRequest) { r.VolumeId = "" }, codes.InvalidArgument},
		{"volume id of another form", func(n *nodeTest, r *csi.NodePublishVolumeRequest) { r.VolumeId = "x" }, codes.NotFound},
		{"no target", func(n *nodeTest, r *csi.NodePublishVolumeRequest) { r.TargetPath = "" }, codes.InvalidArgument},
		{"target outside", func(n *nodeTest, r *csi.NodePublishVolumeRequest) { r.TargetPath = "/etc/cron.d/x" }, codes.InvalidArgument},
		{"target with ..", func(n *nodeTest, r *csi.NodePublishVolumeRequest) { r.TargetPath = n.kubelet + "/pods/../../etc" }, codes.InvalidArgument},
		{"staging outside", func(n *nodeTest, r *csi.NodePublishVolumeRequest) { r.StagingTargetPath = "/" }, codes.InvalidArgument},
		{"no capability", func(n *nodeTest, r *csi.NodePublishVolumeRequest) { r.VolumeCapability = nil }, codes.InvalidArgument},
		{"block without publish_context", func(n *nodeTest, r *csi.NodePublishVolumeRequest) {
			r.VolumeCapability, r.PublishContext = nodeBlockCap(), nil
		}, codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNodeTest(t, nil)
			n.stage(nodeVolA, n.disks.add(t, nodeVolA, nodeVolA), nodeFsCap("ext4"))
			req := n.publishReq(nodeVolA, nodeFsCap("ext4"), false)
			tc.change(n, req)
			_, err := n.srv.NodePublishVolume(t.Context(), req)
			nodeWantCode(t, err, tc.code)
			if calls := n.mounter.take(); len(calls) != 0 {
				t.Errorf("mounted %v", calls)
			}
		})
	}
}

func TestNodeUnpublishVolume(t *testing.T) {
	for _, c := range []*csi.VolumeCapability{nodeFsCap("ext4"), nodeBlockCap()} {
		t.Run(accessType(c), func(t *testing.T) {
			n := newNodeTest(t, nil)
			n.stage(nodeVolA, n.disks.add(t, nodeVolA, nodeVolA), c)
			if _, err := n.srv.NodePublishVolume(t.Context(), n.publishReq(nodeVolA, c, false)); err != nil {
				t.Fatal(err)
			}
			target := n.targetPath(nodeVolA)
			req := &csi.NodeUnpublishVolumeRequest{VolumeId: nodeVolA, TargetPath: target}
			for i := range 2 { // the second call finds the target gone
				if _, err := n.srv.NodeUnpublishVolume(t.Context(), req); err != nil {
					t.Fatalf("call %d: %v", i+1, err)
				}
				if n.mounter.isMounted(t, target) || nodePathExists(t, target) {
					t.Fatalf("call %d: %s still mounted or present", i+1, target)
				}
			}
			unmounts := 0
			for _, a := range n.mounter.GetLog() {
				if a.Action == mount.FakeActionUnmount {
					unmounts++
				}
			}
			if unmounts != 1 {
				t.Errorf("%d unmounts, want 1: %v", unmounts, n.mounter.GetLog())
			}
			if c.GetMount() != nil && !n.mounter.isMounted(t, n.stagingPath(nodeVolA)) {
				t.Errorf("unpublish unmounted the staging path")
			}
		})
	}
}

func TestNodeUnpublishVolumeRejectsBadRequests(t *testing.T) {
	n := newNodeTest(t, nil)
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.Mkdir(outside, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		id, target string
		code       codes.Code
	}{
		{"no volume id", "", n.targetPath(nodeVolA), codes.InvalidArgument},
		{"volume id of another form", "pvc-1", n.targetPath(nodeVolA), codes.NotFound},
		{"no target", nodeVolA, "", codes.InvalidArgument},
		{"target outside", nodeVolA, outside, codes.InvalidArgument},
		{"target with ..", nodeVolA, n.kubelet + "/../" + filepath.Base(outside), codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := n.srv.NodeUnpublishVolume(t.Context(), &csi.NodeUnpublishVolumeRequest{VolumeId: tc.id, TargetPath: tc.target})
			nodeWantCode(t, err, tc.code)
		})
	}
	if !nodePathExists(t, outside) {
		t.Errorf("a rejected request removed %s", outside)
	}
}

func TestNodeGetVolumeStats(t *testing.T) {
	n := newNodeTest(t, nil)
	t.Run("filesystem", func(t *testing.T) {
		dir := filepath.Join(n.kubelet, "pods", "p1", "mount")
		if err := os.MkdirAll(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		resp, err := n.srv.NodeGetVolumeStats(t.Context(), &csi.NodeGetVolumeStatsRequest{VolumeId: nodeVolA, VolumePath: dir})
		if err != nil {
			t.Fatal(err)
		}
		units := map[csi.VolumeUsage_Unit]*csi.VolumeUsage{}
		for _, u := range resp.GetUsage() {
			units[u.GetUnit()] = u
		}
		if len(units) != 2 || units[csi.VolumeUsage_BYTES] == nil || units[csi.VolumeUsage_INODES] == nil {
			t.Fatalf("usage %v, want bytes and inodes", resp.GetUsage())
		}
		bytesUsage := units[csi.VolumeUsage_BYTES]
		if bytesUsage.GetTotal() <= 0 || bytesUsage.GetUsed() < 0 || bytesUsage.GetUsed() > bytesUsage.GetTotal() ||
			bytesUsage.GetAvailable() < 0 || bytesUsage.GetAvailable() > bytesUsage.GetTotal() {
			t.Errorf("implausible byte usage %v", bytesUsage)
		}
		// The page size is no filesystem's size: a sign of a unit mix-up.
		if bytesUsage.GetTotal()%512 != 0 || bytesUsage.GetTotal() <= int64(os.Getpagesize()) {
			t.Errorf("byte total %d is not a filesystem size", bytesUsage.GetTotal())
		}
		inodes := units[csi.VolumeUsage_INODES]
		if inodes.GetUsed() < 0 || inodes.GetUsed() > inodes.GetTotal() || inodes.GetAvailable() > inodes.GetTotal() {
			t.Errorf("implausible inode usage %v", inodes)
		}
	})
	t.Run("block", func(t *testing.T) {
		// A stand-in for the bind-mounted device: its size is what seeking
		// to its end gives.
		file := filepath.Join(n.kubelet, "pods", "p2", "dev")
		if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, make([]byte, 3<<20), 0o600); err != nil {
			t.Fatal(err)
		}
		resp, err := n.srv.NodeGetVolumeStats(t.Context(), &csi.NodeGetVolumeStatsRequest{VolumeId: nodeVolA, VolumePath: file})
		if err != nil {
			t.Fatal(err)
		}
		if u := resp.GetUsage(); len(u) != 1 || u[0].GetUnit() != csi.VolumeUsage_BYTES || u[0].GetTotal() != 3<<20 {
			t.Errorf("usage %v, want a total of %d bytes", u, 3<<20)
		}
	})
	for _, tc := range []struct {
		name, id, path string
		code           codes.Code
	}{
		{"missing path", nodeVolA, filepath.Join(n.kubelet, "pods", "gone"), codes.NotFound},
		// Not a path the volume can be published at: the volume is not
		// there (csi-sanity expects NotFound for a path it never used).
		{"path outside", nodeVolA, t.TempDir(), codes.NotFound},
		{"path with ..", nodeVolA, n.kubelet + "/pods/../../x", codes.NotFound},
		{"no path", nodeVolA, "", codes.InvalidArgument},
		{"no volume id", "", n.kubelet + "/pods", codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := n.srv.NodeGetVolumeStats(t.Context(), &csi.NodeGetVolumeStatsRequest{VolumeId: tc.id, VolumePath: tc.path})
			nodeWantCode(t, err, tc.code)
		})
	}
}

func TestNodeGetVolumeHealth(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stage   bool
		breakIt func(n *nodeTest)
		reason  string // "" for healthy
	}{
		{"healthy", true, func(*nodeTest) {}, ""},
		{"not staged", false, func(*nodeTest) {}, "NotStaged"},
		{"session gone", true, func(n *nodeTest) {
			if err := n.ini.Logout(n.t.Context(), nodeTestPortal, nodeIQN(nodeVolA)); err != nil {
				n.t.Fatal(err)
			}
		}, "NoSession"},
		{"disk gone", true, func(n *nodeTest) { n.disks.vanish(nodeVolA) }, "NoDisk"},
		{"sessions unknown", true, func(n *nodeTest) { n.ini.FailNext(iscsifake.Sessions, iscsi.ErrDaemonUnavailable) }, "SessionsUnknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNodeTest(t, nil)
			dev := n.disks.add(t, nodeVolA, nodeVolA)
			if tc.stage {
				n.stage(nodeVolA, dev, nodeFsCap("ext4"))
			}
			tc.breakIt(n)
			resp, err := n.srv.NodeGetVolumeHealth(t.Context(), &csi.NodeGetVolumeHealthRequest{
				VolumeId: nodeVolA, StagingTargetPath: n.stagingPath(nodeVolA)})
			if err != nil {
				t.Fatal(err)
			}
			h := resp.GetVolumeHealth()
			if h.GetVolumeId() != nodeVolA {
				t.Errorf("health of %q, want %q", h.GetVolumeId(), nodeVolA)
			}
			statuses := h.GetHealthStatuses()
			if tc.reason == "" {
				if len(statuses) != 0 {
					t.Errorf("statuses %v, want healthy", statuses)
				}
				return
			}
			if len(statuses) != 1 || statuses[0].GetStatus() != csi.VolumeHealthErrorType_INACCESSIBLE || statuses[0].GetReason() != tc.reason {
				t.Errorf("statuses %v, want INACCESSIBLE %s", statuses, tc.reason)
			}
		})
	}
	t.Run("bad requests", func(t *testing.T) {
		n := newNodeTest(t, nil)
		for _, req := range []*csi.NodeGetVolumeHealthRequest{
			{VolumeId: ""},
			{VolumeId: nodeVolA, StagingTargetPath: "/elsewhere"},
			{VolumeId: nodeVolA, VolumePublishPath: n.kubelet + "/x/../../y"},
		} {
			_, err := n.srv.NodeGetVolumeHealth(t.Context(), req)
			nodeWantCode(t, err, codes.InvalidArgument)
		}
	})
}

// xfs refuses to mount a filesystem whose UUID is already mounted, and a
// clone or a restored snapshot carries its source's: xfs is mounted with
// nouuid. ext4 has no such check and gets nothing added.
func TestNodeStageVolumeMountsXFSWithoutTheUUIDCheck(t *testing.T) {
	for _, tc := range []struct {
		fsType, blkid string
		nouuid        bool
	}{
		{"xfs", "blkid_unformatted", true},
		{"ext4", "blkid_ext4", false},
	} {
		t.Run(tc.fsType, func(t *testing.T) {
			n := newNodeTest(t, nil)
			dev := n.disks.add(t, nodeVolA, nodeVolA)
			second := map[string]string{"xfs": "mkfs_xfs", "ext4": "fsck_clean"}[tc.fsType]
			n.expectCommands(recordedExec(t, tc.blkid, dev), recordedExec(t, second, dev))
			if _, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeFsCap(tc.fsType))); err != nil {
				t.Fatal(err)
			}
			calls := n.mounter.take()
			if len(calls) != 1 || slices.Contains(calls[0].options, "nouuid") != tc.nouuid {
				t.Errorf("mounts %+v, want nouuid among the options: %v", calls, tc.nouuid)
			}
		})
	}
}
