package driver

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
)

// fakeResizer records what it grew.
type fakeResizer struct {
	need    bool
	checked int // NeedResize calls
	calls   [][2]string
	err     error
}

func (r *fakeResizer) NeedResize(dev, mountPath string) (bool, error) {
	r.checked++
	return r.need, nil
}

func (r *fakeResizer) Resize(dev, mountPath string) (bool, error) {
	r.calls = append(r.calls, [2]string{dev, mountPath})
	return r.err == nil, r.err
}

func expandReq(id, path string, size int64, c *csi.VolumeCapability) *csi.NodeExpandVolumeRequest {
	return &csi.NodeExpandVolumeRequest{VolumeId: id, VolumePath: path, VolumeCapability: c,
		CapacityRange: &csi.CapacityRange{RequiredBytes: size}}
}

// stagedExt4 is a node with volume "expand-me" staged as ext4 on disk dev
// and published at target, and r its filesystem resizer.
func stagedExt4(t *testing.T) (n *nodeTest, r *fakeResizer, vol, dev, target string) {
	t.Helper()
	n = newNodeTest(t, nil)
	r = &fakeResizer{}
	n.srv.svc.cfg.Resizer = r
	vol = pool.VolumeID("expand-me")
	dev = n.disks.add(t, vol, vol)
	n.stage(vol, dev, nodeFsCap("ext4"))
	target = n.targetPath(vol)
	if err := os.MkdirAll(target, 0o750); err != nil {
		t.Fatal(err)
	}
	return n, r, vol, dev, target
}

func TestNodeExpandVolumeRescansAndGrowsTheFilesystem(t *testing.T) {
	n, r, vol, dev, target := stagedExt4(t)
	resp, err := n.srv.NodeExpandVolume(t.Context(), expandReq(vol, target, 512<<20, nodeFsCap("ext4")))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetCapacityBytes() != 1<<30 {
		t.Fatalf("capacity = %d, want the disk's size", resp.GetCapacityBytes())
	}
	sessions, _ := n.ini.Sessions(t.Context())
	if got := n.ini.Rescans(); len(sessions) != 1 || !slices.Equal(got, []int{sessions[0].ID}) {
		t.Fatalf("rescans = %v, want exactly the volume's session %v", got, sessions)
	}
	if len(r.calls) != 1 || r.calls[0] != [2]string{dev, target} {
		t.Fatalf("resize calls = %v", r.calls)
	}
}

// A rescan that reads nothing new (it came while the session reconnected
// after the controller refreshed the LUN) is followed by more until the
// disk shows the size.
func TestNodeExpandVolumeRescansAgainUntilTheDiskGrows(t *testing.T) {
	n, _, vol, _, target := stagedExt4(t)
	n.srv.svc.rescanEvery = time.Millisecond
	n.disks.grownAfter = 2
	resp, err := n.srv.NodeExpandVolume(t.Context(), expandReq(vol, target, 1<<30, nodeFsCap("ext4")))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetCapacityBytes() != 1<<30 {
		t.Fatalf("capacity = %d, want 1 GiB", resp.GetCapacityBytes())
	}
	if got := len(n.ini.Rescans()); got != 3 {
		t.Fatalf("%d rescans, want 3: two that read nothing, then one that read the new size", got)
	}
}

func TestNodeExpandVolumeBlockOnlyRescans(t *testing.T) {
	n := newNodeTest(t, nil)
	r := &fakeResizer{}
	n.srv.svc.cfg.Resizer = r
	vol := pool.VolumeID("block")
	dev := n.disks.add(t, vol, vol)
	n.stage(vol, dev, nodeBlockCap())
	target := n.targetPath(vol)
	if err := makeFile(target); err != nil {
		t.Fatal(err)
	}
	if _, err := n.srv.NodeExpandVolume(t.Context(), expandReq(vol, target, 0, nodeBlockCap())); err != nil {
		t.Fatal(err)
	}
	if len(n.ini.Rescans()) != 1 || len(r.calls) != 0 {
		t.Fatalf("rescans %v, resizes %v: want one rescan and no filesystem resize", n.ini.Rescans(), r.calls)
	}
}

func TestNodeExpandVolumeErrors(t *testing.T) {
	n := newNodeTest(t, nil)
	n.srv.svc.cfg.Resizer = &fakeResizer{err: errors.New("resize2fs: bad superblock")}
	n.srv.svc.rescanTimeout = 10 * time.Millisecond
	vol := pool.VolumeID("v")
	dev := n.disks.add(t, vol, vol)
	n.stage(vol, dev, nodeFsCap("ext4"))
	target := n.targetPath(vol)
	os.MkdirAll(target, 0o750)

	_, err := n.srv.NodeExpandVolume(t.Context(), &csi.NodeExpandVolumeRequest{VolumePath: target})
	nodeWantCode(t, err, codes.InvalidArgument)
	_, err = n.srv.NodeExpandVolume(t.Context(), &csi.NodeExpandVolumeRequest{VolumeId: vol})
	nodeWantCode(t, err, codes.InvalidArgument)
	_, err = n.srv.NodeExpandVolume(t.Context(), expandReq(vol, "/etc", 0, nil))
	nodeWantCode(t, err, codes.InvalidArgument)
	_, err = n.srv.NodeExpandVolume(t.Context(), expandReq(pool.VolumeID("other"), target, 0, nil))
	nodeWantCode(t, err, codes.NotFound) // not staged here
	// The disk never reaches the size: the target was not refreshed.
	_, err = n.srv.NodeExpandVolume(t.Context(), expandReq(vol, target, 2<<30, nodeFsCap("ext4")))
	nodeWantCode(t, err, codes.Unavailable)
	_, err = n.srv.NodeExpandVolume(t.Context(), expandReq(vol, target, 0, nodeFsCap("ext4")))
	nodeWantCode(t, err, codes.Internal)
	// A disk that is not the volume's is never resized.
	n.disks.setSerial(vol, "someone-else")
	_, err = n.srv.NodeExpandVolume(t.Context(), expandReq(vol, target, 0, nodeFsCap("ext4")))
	nodeWantCode(t, err, codes.FailedPrecondition)
}

func TestNodeStageGrowsASmallerFilesystemToTheDevice(t *testing.T) {
	n := newNodeTest(t, nil)
	r := &fakeResizer{need: true}
	n.srv.svc.cfg.Resizer = r
	vol := pool.VolumeID("restored-larger")
	dev := n.disks.add(t, vol, vol)
	n.stage(vol, dev, nodeFsCap("ext4"))
	if len(r.calls) != 1 || r.calls[0] != [2]string{dev, n.stagingPath(vol)} {
		t.Fatalf("resize calls = %v, want the staged filesystem grown", r.calls)
	}
}

// A filesystem the stage has just made fills its device: no check for
// growth, whose commands cost time on every first stage.
func TestNodeStageDoesNotGrowAFilesystemItJustMade(t *testing.T) {
	for _, fsType := range []string{"ext4", "xfs"} {
		t.Run(fsType, func(t *testing.T) {
			n := newNodeTest(t, nil)
			r := &fakeResizer{need: true}
			n.srv.svc.cfg.Resizer = r
			dev := n.disks.add(t, nodeVolA, nodeVolA)
			n.expectCommands(recordedExec(t, "blkid_unformatted", dev), recordedExec(t, "mkfs_"+fsType, dev))
			if _, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeFsCap(fsType))); err != nil {
				t.Fatal(err)
			}
			n.expectCommands()
			if r.checked != 0 || len(r.calls) != 0 {
				t.Fatalf("a new filesystem was checked %d times and grown %v", r.checked, r.calls)
			}
		})
	}
}

// flakyDisks loses the disk once between finding it and reading its
// serial, as udev lag did in the real-kernel runs.
type flakyDisks struct {
	Disks
	lost int
}

func (f *flakyDisks) VerifySerial(dev, want string) error {
	if f.lost > 0 {
		f.lost--
		return fmt.Errorf("%w: %s", iscsi.ErrDeviceNotFound, dev)
	}
	return f.Disks.VerifySerial(dev, want)
}

func TestNodeStageLooksAgainWhenTheDiskVanishesBeforeItsSerialIsRead(t *testing.T) {
	n := newNodeTest(t, nil)
	vol := pool.VolumeID("udev-lag")
	dev := n.disks.add(t, vol, vol)
	flaky := &flakyDisks{Disks: n.disks, lost: 1}
	n.srv.svc.cfg.Disks = flaky
	n.stage(vol, dev, nodeBlockCap())
	if flaky.lost != 0 {
		t.Fatal("the serial was not checked")
	}
	if !n.ini.LoggedIn(nodeTestPortal, nodeIQN(vol)) {
		t.Fatal("a transient disappearance logged the node out")
	}
}
