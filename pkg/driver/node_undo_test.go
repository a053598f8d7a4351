package driver

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi/iscsifake"
)

// After NodeStageVolume fails with a code kubelet takes as final, kubelet
// never calls NodeUnstageVolume for that attempt (docs/design.md, "What
// kubelet does with an error"): whatever the attempt set up must be gone
// when the answer leaves, or it stays on the node for good.
func TestNodeStageVolumeFinalErrorLeavesNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		c     *csi.VolumeCapability
		setUp func(n *nodeTest, dev string) // dev: the volume's disk
		code  codes.Code
		disk  bool // the disk showed up, so it must be removed
	}{
		{"wrong serial, filesystem", nodeFsCap("ext4"), func(n *nodeTest, _ string) { n.disks.setSerial(nodeVolA, nodeVolB) }, codes.FailedPrecondition, true},
		{"wrong serial, block", nodeBlockCap(), func(n *nodeTest, _ string) { n.disks.setSerial(nodeVolA, nodeVolB) }, codes.FailedPrecondition, true},
		{"CHAP refused", nodeFsCap("ext4"), func(n *nodeTest, _ string) {
			// iscsiadm has written the node record, CHAP secret included,
			// before the login that the target refused.
			n.ini.FailNext(iscsifake.Login, fmt.Errorf("%w: %w: exit status 24", iscsi.ErrLoginFailed, iscsi.ErrAuthFailed))
		}, codes.PermissionDenied, false},
		{"mkfs fails", nodeFsCap("ext4"), func(n *nodeTest, dev string) {
			n.expectCommands(recordedExec(n.t, "blkid_unformatted", dev), recordedExec(n.t, "mkfs_ext4_missing", dev))
		}, codes.Internal, true},
		{"growing the filesystem at stage fails", nodeFsCap("ext4"), func(n *nodeTest, dev string) {
			n.expectCommands(recordedExec(n.t, "blkid_ext4", dev), recordedExec(n.t, "fsck_clean", dev))
			n.srv.svc.cfg.Resizer = &fakeResizer{need: true, err: fmt.Errorf("resize2fs: Permission denied")}
		}, codes.Internal, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNodeTest(t, nil)
			dev := n.disks.add(t, nodeVolA, nodeVolA)
			n.stage(nodeVolB, n.disks.add(t, nodeVolB, nodeVolB), nodeFsCap("ext4")) // a bystander
			tc.setUp(n, dev)

			_, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, tc.c))
			nodeWantCode(t, err, tc.code)
			n.wantNothingOf(nodeVolA, dev, tc.disk)
			if !n.ini.LoggedIn(nodeTestPortal, nodeIQN(nodeVolB)) || !n.hasRecord(nodeVolB) || !n.mounter.isMounted(t, n.stagingPath(nodeVolB)) {
				t.Errorf("the cleanup touched volume B")
			}
		})
	}
}

// wantNothingOf checks that nothing of volumeID is left on the node: no
// session, no iscsiadm node record, no disk (removed before the logout),
// no stage record, no staging mount.
func (n *nodeTest) wantNothingOf(volumeID, dev string, diskShowedUp bool) {
	n.t.Helper()
	node := iscsifake.Node{Portal: nodeTestPortal, IQN: nodeIQN(volumeID)}
	if n.ini.LoggedIn(node.Portal, node.IQN) {
		n.t.Errorf("still logged in to %s", node.IQN)
	}
	if _, ok := n.ini.Record(node.Portal, node.IQN); ok || !slices.Contains(n.ini.Deletes(), node) {
		n.t.Errorf("the iscsiadm node record of %s was not deleted (deletions %v)", node.IQN, n.ini.Deletes())
	}
	if diskShowedUp && !slices.Contains(n.disks.removed(), fakeRemoval{dev, true}) {
		n.t.Errorf("disk %s not removed before the logout: removals %v", dev, n.disks.removed())
	}
	if n.hasRecord(volumeID) {
		n.t.Errorf("the stage record of %s is left", volumeID)
	}
	if n.mounter.isMounted(n.t, n.stagingPath(volumeID)) {
		n.t.Errorf("the staging path of %s is still mounted", volumeID)
	}
}

// The staging path holds another volume's disk: the answer is final, this
// volume's session goes, and the other disk's mount is left alone.
func TestNodeStageVolumeFinalErrorLeavesAnotherDisksMountAlone(t *testing.T) {
	n := newNodeTest(t, nil)
	dev := n.disks.add(t, nodeVolA, nodeVolA)
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
	if src, _, _ := mountSource(n, staging); src != other {
		t.Errorf("the staging path holds %q, want the other disk %s left mounted", src, other)
	}
	if n.ini.LoggedIn(nodeTestPortal, nodeIQN(nodeVolA)) || n.hasRecord(nodeVolA) ||
		!slices.Contains(n.disks.removed(), fakeRemoval{dev, true}) {
		t.Errorf("volume A left behind: session %v, record %v, removals %v",
			n.ini.LoggedIn(nodeTestPortal, nodeIQN(nodeVolA)), n.hasRecord(nodeVolA), n.disks.removed())
	}
}

func mountSource(n *nodeTest, path string) (string, int, error) {
	mps, err := n.mounter.List()
	for _, mp := range mps {
		if mp.Path == path {
			return mp.Device, len(mps), err
		}
	}
	return "", len(mps), err
}

// When the clean-up itself fails, the answer must not be final: kubelet
// then keeps the volume as possibly staged and calls NodeUnstageVolume,
// which finishes the job.
func TestNodeStageVolumeFailedUndoIsNotFinal(t *testing.T) {
	n := newNodeTest(t, nil)
	n.disks.add(t, nodeVolA, nodeVolB) // another volume's disk behind A's name
	n.ini.FailNext(iscsifake.DeleteRecord, fmt.Errorf("%w: exit status 20", iscsi.ErrDaemonUnavailable))
	_, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeBlockCap()))
	nodeWantCode(t, err, codes.Unavailable)
	if !n.hasRecord(nodeVolA) {
		t.Errorf("the stage record is gone although the clean-up did not finish")
	}
	if _, err := n.srv.NodeUnstageVolume(t.Context(), n.unstageReq(nodeVolA)); err != nil {
		t.Fatal(err)
	}
	if _, ok := n.ini.Record(nodeTestPortal, nodeIQN(nodeVolA)); ok || n.hasRecord(nodeVolA) {
		t.Errorf("node record or stage record left after unstage")
	}
}

// A failed restage of a volume whose staging mount pods still use (kubelet
// restarted and calls NodeStageVolume again) must not pull the disk from
// under them: nothing is undone, and the answer is not final, so kubelet
// unstages the volume once the pods are gone.
func TestNodeStageVolumeFinalErrorLeavesAStagingInUse(t *testing.T) {
	n := newNodeTest(t, nil)
	dev := n.disks.add(t, nodeVolA, nodeVolA)
	n.stage(nodeVolA, dev, nodeFsCap("ext4"))
	if _, err := n.srv.NodePublishVolume(t.Context(), n.publishReq(nodeVolA, nodeFsCap("ext4"), false)); err != nil {
		t.Fatal(err)
	}
	n.disks.setSerial(nodeVolA, nodeVolB)

	_, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeFsCap("ext4")))
	nodeWantCode(t, err, codes.Unavailable)
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "serial mismatch") || !strings.Contains(msg, "delete the pods") {
		t.Errorf("message %q does not give both the failure and what to do", msg)
	}
	if !n.mounter.isMounted(t, n.stagingPath(nodeVolA)) || !n.mounter.isMounted(t, n.targetPath(nodeVolA)) {
		t.Errorf("the staging or the pod's mount was taken away")
	}
	if len(n.disks.removed()) != 0 || !n.hasRecord(nodeVolA) {
		t.Errorf("removed %v; record kept %v", n.disks.removed(), n.hasRecord(nodeVolA))
	}
}

// A disk that cannot be read is never handed to blkid and mkfs: blkid
// exits 2, "nothing found", when it cannot open the device, and
// SafeFormatAndMount formats on that; should the disk come back between
// the two, mkfs would wipe the volume. A disk past its replacement
// timeout fails the stage for good (undone, so the retry logs in afresh);
// one whose session is reconnecting is worth a retry as it is.
func TestNodeStageVolumeRefusesADiskThatCannotBeRead(t *testing.T) {
	for _, tc := range []struct {
		state string
		code  codes.Code
	}{
		{"transport-offline", codes.FailedPrecondition},
		{"offline", codes.FailedPrecondition},
		{"blocked", codes.Unavailable},
	} {
		for _, c := range []*csi.VolumeCapability{nodeFsCap("ext4"), nodeBlockCap()} {
			t.Run(tc.state+" "+accessType(c), func(t *testing.T) {
				n := newNodeTest(t, nil)
				dev := n.disks.add(t, nodeVolA, nodeVolA)
				n.disks.setState(nodeVolA, tc.state)
				// No command is scripted: blkid or mkfs would fail the test.
				_, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, c))
				nodeWantCode(t, err, tc.code)
				if calls := n.mounter.take(); len(calls) != 0 {
					t.Errorf("mounted %v", calls)
				}
				if tc.code == codes.FailedPrecondition {
					n.wantNothingOf(nodeVolA, dev, true)
				} else if !n.ini.LoggedIn(nodeTestPortal, nodeIQN(nodeVolA)) || !n.hasRecord(nodeVolA) {
					t.Errorf("a reconnecting session was taken down")
				}
			})
		}
	}
}
