package driver

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/mount-utils"
)

// How a staging mount goes bad under a staged volume (docs/design.md,
// "Failure model"): the disk is gone and the session came back with a new
// disk under a new name, or the filesystem went read-only after I/O
// errors. Each returns the disk the volume has now.
var stagingBreakages = []struct {
	name    string
	breakIt func(n *nodeTest, dev string) string
	reason  string // NodeGetVolumeHealth's
}{
	{"disk replaced", func(n *nodeTest, _ string) string { return n.disks.replace(n.t, nodeVolA) }, "DiskReplaced"},
	{"read-only after errors", func(n *nodeTest, dev string) string {
		n.mounter.goReadOnly(n.stagingPath(nodeVolA))
		return dev
	}, "ReadOnly"},
}

// stageBroken stages volume A (ext4), publishes it when inUse, breaks the
// staging mount and returns the volume's disk after that.
func (n *nodeTest) stageBroken(breakIt func(n *nodeTest, dev string) string, inUse bool) string {
	n.t.Helper()
	dev := n.disks.add(n.t, nodeVolA, nodeVolA)
	n.stage(nodeVolA, dev, nodeFsCap("ext4"))
	if inUse {
		if _, err := n.srv.NodePublishVolume(n.t.Context(), n.publishReq(nodeVolA, nodeFsCap("ext4"), false)); err != nil {
			n.t.Fatal(err)
		}
		n.mounter.take()
	}
	return breakIt(n, dev)
}

// A broken staging mount that nothing else uses is unmounted and the
// volume's current disk mounted again (after fsck), instead of a retried
// NodeStageVolume answering OK over it.
func TestNodeStageVolumeRemountsABrokenStagingMountNobodyUses(t *testing.T) {
	for _, tc := range stagingBreakages {
		t.Run(tc.name, func(t *testing.T) {
			n := newNodeTest(t, nil)
			dev := n.stageBroken(tc.breakIt, false)
			staging := n.stagingPath(nodeVolA)
			n.expectCommands(recordedExec(t, "blkid_ext4", dev), recordedExec(t, "fsck_clean", dev))

			if _, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeFsCap("ext4"))); err != nil {
				t.Fatalf("restage: %v", err)
			}
			calls := n.mounter.take()
			if len(calls) != 1 || calls[0].source != dev || calls[0].target != staging || slices.Contains(calls[0].options, "ro") {
				t.Errorf("mounts %+v, want %s mounted again read-write at %s", calls, dev, staging)
			}
			mps, _ := n.mounter.List()
			var at []mount.MountPoint
			for _, mp := range mps {
				if mp.Path == staging {
					at = append(at, mp)
				}
			}
			if len(at) != 1 || at[0].Device != dev || slices.Contains(at[0].Opts, "ro") {
				t.Errorf("mounted at %s: %+v, want only %s, read-write", staging, at, dev)
			}
		})
	}
}

// Pods' bind mounts keep the old, broken filesystem whatever is mounted at
// the staging path afterwards, so a remount would answer OK while the pods
// still fail. The honest answer names the problem and what to do, changes
// nothing, and is not final (kubelet keeps the volume staged and unstages
// it once the pods are gone).
func TestNodeStageVolumeReportsABrokenStagingMountInUse(t *testing.T) {
	for _, tc := range stagingBreakages {
		t.Run(tc.name, func(t *testing.T) {
			n := newNodeTest(t, nil)
			n.stageBroken(tc.breakIt, true)
			before, _ := n.mounter.List()

			_, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeFsCap("ext4")))
			nodeWantCode(t, err, codes.Unavailable)
			msg := status.Convert(err).Message()
			for _, want := range []string{n.targetPath(nodeVolA), "delete the pods"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not mention %q", msg, want)
				}
			}
			if after, _ := n.mounter.List(); len(n.mounter.take()) != 0 || !slices.EqualFunc(before, after, sameMountPoint) {
				t.Errorf("mounts changed from %v to %v", before, after)
			}
			if !n.ini.LoggedIn(nodeTestPortal, nodeIQN(nodeVolA)) || !n.hasRecord(nodeVolA) {
				t.Errorf("the volume was taken down under its pods")
			}
		})
	}
}

func sameMountPoint(a, b mount.MountPoint) bool {
	return a.Device == b.Device && a.Path == b.Path && slices.Equal(a.Opts, b.Opts)
}

func TestNodePublishVolumeRefusesABrokenStagingMount(t *testing.T) {
	for _, tc := range stagingBreakages {
		t.Run(tc.name, func(t *testing.T) {
			n := newNodeTest(t, nil)
			n.stageBroken(tc.breakIt, false)
			_, err := n.srv.NodePublishVolume(t.Context(), n.publishReq(nodeVolA, nodeFsCap("ext4"), false))
			nodeWantCode(t, err, codes.FailedPrecondition)
			if calls := n.mounter.take(); len(calls) != 0 {
				t.Errorf("bound the broken mount into a pod: %v", calls)
			}
		})
	}
}

func TestNodeGetVolumeHealthReportsABrokenStagingMount(t *testing.T) {
	for _, tc := range stagingBreakages {
		t.Run(tc.name, func(t *testing.T) {
			n := newNodeTest(t, nil)
			n.stageBroken(tc.breakIt, true)
			resp, err := n.srv.NodeGetVolumeHealth(t.Context(), &csi.NodeGetVolumeHealthRequest{
				VolumeId: nodeVolA, StagingTargetPath: n.stagingPath(nodeVolA), VolumePublishPath: n.targetPath(nodeVolA)})
			if err != nil {
				t.Fatal(err)
			}
			st := resp.GetVolumeHealth().GetHealthStatuses()
			if len(st) != 1 || st[0].GetReason() != tc.reason || st[0].GetStatus() == csi.VolumeHealthErrorType_UNKNOWN_VOLUME_HEALTH_TYPE ||
				!strings.Contains(st[0].GetMessage(), "pods") {
				t.Errorf("health %v, want one %s entry that says what to do about the pods", st, tc.reason)
			}
		})
	}
}

func TestNodeGetVolumeStatsRefusesABrokenStagingMount(t *testing.T) {
	for _, tc := range stagingBreakages {
		t.Run(tc.name, func(t *testing.T) {
			n := newNodeTest(t, nil)
			n.stageBroken(tc.breakIt, true)
			_, err := n.srv.NodeGetVolumeStats(t.Context(), &csi.NodeGetVolumeStatsRequest{
				VolumeId: nodeVolA, VolumePath: n.targetPath(nodeVolA), StagingTargetPath: n.stagingPath(nodeVolA)})
			nodeWantCode(t, err, codes.FailedPrecondition)
		})
	}
}

// A filesystem shut down after I/O errors (xfs answers EIO to everything)
// or one whose I/O is stalled (the session reconnecting) is no healthy
// staging mount either.
func TestNodeReportsAStagingMountThatFails(t *testing.T) {
	for _, tc := range []struct {
		name  string
		probe func(string, bool) error
		want  string
	}{
		{"I/O errors", func(string, bool) error { return fmt.Errorf("reading the directory: %w", syscall.EIO) }, "input/output error"},
		{"no answer", func(string, bool) error { time.Sleep(time.Hour); return nil }, "no answer within 50ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNodeTest(t, nil)
			n.stageBroken(func(n *nodeTest, dev string) string { return dev }, true)
			n.srv.svc.probeMount, n.srv.svc.probeTimeout = tc.probe, 50*time.Millisecond

			resp, err := n.srv.NodeGetVolumeHealth(t.Context(), &csi.NodeGetVolumeHealthRequest{VolumeId: nodeVolA})
			if err != nil {
				t.Fatal(err)
			}
			st := resp.GetVolumeHealth().GetHealthStatuses()
			if len(st) != 1 || st[0].GetReason() != "IOError" || st[0].GetStatus() != csi.VolumeHealthErrorType_INACCESSIBLE ||
				!strings.Contains(st[0].GetMessage(), tc.want) {
				t.Errorf("health %v, want INACCESSIBLE IOError saying %q", st, tc.want)
			}
			_, err = n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeFsCap("ext4")))
			nodeWantCode(t, err, codes.Unavailable)
			_, err = n.srv.NodeGetVolumeStats(t.Context(), &csi.NodeGetVolumeStatsRequest{VolumeId: nodeVolA, VolumePath: n.targetPath(nodeVolA)})
			nodeWantCode(t, err, codes.FailedPrecondition)
		})
	}
}

// While the session is down the disk is "blocked" (I/O waits); past the
// replacement timeout "transport-offline" (I/O fails). Both are reported,
// block volumes included, with what comes next.
func TestNodeGetVolumeHealthReportsAnUnreachableDisk(t *testing.T) {
	for _, tc := range []struct {
		state, reason, says string
	}{
		{"blocked", "Reconnecting", "replacement timeout"},
		{"transport-offline", "DiskOffline", "fails"},
		{"offline", "DiskOffline", "fails"},
	} {
		for _, c := range []*csi.VolumeCapability{nodeFsCap("ext4"), nodeBlockCap()} {
			t.Run(tc.state+" "+accessType(c), func(t *testing.T) {
				n := newNodeTest(t, nil)
				n.stage(nodeVolA, n.disks.add(t, nodeVolA, nodeVolA), c)
				n.disks.setState(nodeVolA, tc.state)
				n.srv.svc.probeMount = func(string, bool) error { t.Error("a stalled disk's filesystem was probed"); return nil }
				resp, err := n.srv.NodeGetVolumeHealth(t.Context(), &csi.NodeGetVolumeHealthRequest{VolumeId: nodeVolA})
				if err != nil {
					t.Fatal(err)
				}
				st := resp.GetVolumeHealth().GetHealthStatuses()
				if len(st) != 1 || st[0].GetReason() != tc.reason || st[0].GetStatus() != csi.VolumeHealthErrorType_INACCESSIBLE ||
					!strings.Contains(st[0].GetMessage(), tc.says) {
					t.Errorf("health %v, want INACCESSIBLE %s saying %q", st, tc.reason, tc.says)
				}
			})
		}
	}
}
