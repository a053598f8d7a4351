package driver

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
)

// rescanTimeout bounds the wait for the kernel to report the new size
// after a rescan of the session.
const rescanTimeout = 30 * time.Second

// rescanEvery is how often the wait rescans again while the disk is
// smaller than asked: a rescan while the session reconnects reads nothing
// new, and the controller closes the session's connection to refresh the
// LUN's size (pkg/pool refresh.go), so the first rescan may come while the
// node logs in again. The kernel does not rescan by itself: tgtd reports
// no capacity change.
const rescanEvery = 2 * time.Second

// NodeExpandVolume makes the node see a volume the controller grew, while
// it stays mounted and in use: rescan that volume's iSCSI session only (the
// disk's capacity is read again; the session and the disk stay), then grow
// the filesystem (resize2fs online for ext4, xfs_growfs for xfs). A block
// volume only needs the rescan.
func (s *nodeService) NodeExpandVolume(ctx context.Context, req *csi.NodeExpandVolumeRequest) (*csi.NodeExpandVolumeResponse, error) {
	id, p := req.GetVolumeId(), req.GetVolumePath()
	if req.GetCapacityRange().GetRequiredBytes() < 0 {
		return nil, invalid("capacity_range must not be negative")
	}
	if err := s.check(volumeCall{id: id, capability: req.GetVolumeCapability(), paths: []string{"volume_path", p}}); err != nil {
		return nil, err
	}
	info, err := os.Stat(p)
	if err != nil {
		return nil, fail(errUnknownObject, "volume path %s: %w", p, err)
	}
	rec, err := s.records.load(id)
	if err != nil {
		return nil, fmt.Errorf("reading the staging record of %s: %w", id, err)
	}
	if rec == nil {
		return nil, fail(errUnknownObject, "volume %s is not staged on this node", id)
	}
	t := iscsi.Target{Portal: rec.Portal, IQN: rec.IQN, LUN: rec.LUN}
	sessions, err := s.cfg.Initiator.Sessions(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing iSCSI sessions: %w", err)
	}
	sid := -1
	for _, ses := range sessions {
		if ses.IQN == t.IQN && ses.Portal == t.Portal {
			sid = ses.ID
		}
	}
	if sid < 0 {
		return nil, fail(errNotStaged, "no iSCSI session to %s: volume %s is not attached", t.IQN, id)
	}
	if err := s.cfg.Initiator.Rescan(ctx, sid); err != nil {
		return nil, fmt.Errorf("rescanning session %d: %w", sid, err)
	}
	dev, err := s.cfg.Disks.WaitForDevice(ctx, t, deviceTimeout)
	if err != nil {
		return nil, fmt.Errorf("finding the disk of %s: %w", t.IQN, err)
	}
	if err := s.cfg.Disks.VerifySerial(dev, id); err != nil {
		return nil, err
	}
	size, err := s.waitForSize(ctx, sid, dev, uint64(req.GetCapacityRange().GetRequiredBytes()))
	if err != nil {
		return nil, err
	}
	block := req.GetVolumeCapability().GetBlock() != nil || !info.IsDir()
	if !block {
		if _, err := s.cfg.Resizer.Resize(dev, p); err != nil {
			return nil, fmt.Errorf("growing the filesystem on %s: %w", dev, err)
		}
	}
	klog.InfoS("Volume expanded on the node", "volumeID", id, "device", dev, "size", size, "filesystem", !block)
	return &csi.NodeExpandVolumeResponse{CapacityBytes: int64(size)}, nil
}

// waitForSize polls the disk's size until it reaches want (0: any),
// rescanning session sid again every s.rescanEvery meanwhile.
func (s *nodeService) waitForSize(ctx context.Context, sid int, dev string, want uint64) (uint64, error) {
	deadline := time.Now().Add(s.rescanTimeout)
	lastRescan := time.Now()
	var rescanErr error
	for {
		size, err := s.cfg.Disks.Size(dev)
		if err != nil {
			return 0, fmt.Errorf("reading the size of %s: %w", dev, err)
		}
		if size >= want {
			return size, nil
		}
		if time.Now().After(deadline) {
			if rescanErr != nil {
				return 0, fail(errRescanIncomplete, "%s is %d bytes after rescans, %d expected; the last rescan failed: %v", dev, size, want, rescanErr)
			}
			return 0, fail(errRescanIncomplete, "%s is %d bytes after rescans, %d expected; the target may not have been refreshed yet", dev, size, want)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		if time.Since(lastRescan) >= s.rescanEvery {
			lastRescan = time.Now()
			if rescanErr = s.cfg.Initiator.Rescan(ctx, sid); rescanErr != nil {
				klog.V(2).InfoS("Rescan while waiting for the new size failed; trying again", "device", dev, "err", rescanErr)
			}
		}
	}
}
