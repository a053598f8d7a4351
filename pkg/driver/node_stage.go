package driver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"k8s.io/klog/v2"
	"k8s.io/mount-utils"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
)

// targetFrom reads where the volume is from publish_context (keys in
// pkg/publish). The IQN must end in the volume id, so a context meant for
// another volume cannot make this one log in there.
func targetFrom(volumeID string, pc map[string]string) (iscsi.Target, error) {
	t := iscsi.Target{Portal: pc[publish.KeyPortal], IQN: pc[publish.KeyIQN]}
	if !iscsi.ValidPortal(t.Portal) {
		return t, invalid("publish_context %s %q is not host:port", publish.KeyPortal, t.Portal)
	}
	if !iscsi.ValidIQN(t.IQN) || !publish.IsTargetOf(t.IQN, volumeID) {
		return t, invalid("publish_context %s %q is not the target of volume %s", publish.KeyIQN, t.IQN, volumeID)
	}
	lun, err := strconv.Atoi(pc[publish.KeyLUN])
	if err != nil || lun < 0 || lun > 255 {
		return t, invalid("publish_context %s %q is not a LUN number", publish.KeyLUN, pc[publish.KeyLUN])
	}
	t.LUN = lun
	return t, nil
}

// chapFrom reads the CHAP credentials of publish_context, nil when there
// are none (CHAP off). Sealed ones are opened with the node's key and
// must be for this volume; 0.1's clear ones are still read from
// VolumeAttachments made before an upgrade (docs/upgrade.md).
func chapFrom(volumeID string, pc map[string]string, key *publish.NodeKey) (*iscsi.CHAP, error) {
	sealed := pc[publish.KeyCHAP]
	user, pass := pc[publish.KeyCHAPUser], pc[publish.KeyCHAPPassword]
	switch {
	case sealed != "" && (user != "" || pass != ""):
		return nil, invalid("publish_context has both sealed and clear CHAP credentials")
	case sealed != "":
		if key == nil {
			return nil, fail(errNodeWithoutKey, "publish_context has sealed CHAP credentials and this node has no key to open them")
		}
		c, err := key.OpenCredentials(volumeID, sealed)
		if err != nil {
			return nil, fmt.Errorf("publish_context %s: %w", publish.KeyCHAP, err)
		}
		return &iscsi.CHAP{User: c.User, Password: c.Password}, nil
	case user != "" || pass != "":
		if user == "" || pass == "" {
			return nil, invalid("publish_context has half a CHAP credential")
		}
		return &iscsi.CHAP{User: user, Password: pass}, nil
	}
	return nil, nil
}

func (s *nodeService) NodeStageVolume(ctx context.Context, req *csi.NodeStageVolumeRequest) (_ *csi.NodeStageVolumeResponse, err error) {
	id, staging := req.GetVolumeId(), req.GetStagingTargetPath()
	c := req.GetVolumeCapability()
	if err := s.check(volumeCall{id: id, capability: c, capabilityRequired: true, paths: []string{"staging_target_path", staging}}); err != nil {
		return nil, err
	}
	if err := noSecrets(req.GetSecrets()); err != nil {
		return nil, err
	}
	target, err := targetFrom(id, req.GetPublishContext())
	if err != nil {
		return nil, err
	}
	params, err := ParseVolumeContext(req.GetVolumeContext())
	if err != nil {
		return nil, err
	}
	if target.CHAP, err = chapFrom(id, req.GetPublishContext(), s.cfg.Key); err != nil {
		return nil, err
	}
	// From here on, a final error must leave nothing behind: kubelet will
	// not call NodeUnstageVolume after it (node_stage_undo.go).
	defer func() {
		if err != nil && finalForKubelet(err) {
			err = s.undoStage(ctx, id, staging, err)
		}
	}()
	readOnly := hasReadOnly(c.GetMount().GetMountFlags())
	if err := s.records.save(id, stageRecord{Portal: target.Portal, IQN: target.IQN, LUN: target.LUN, StagingPath: staging, ReadOnly: readOnly}); err != nil {
		return nil, fmt.Errorf("recording the staging of %s: %w", id, err)
	}
	dev, err := s.attach(ctx, id, target)
	if err != nil {
		return nil, err
	}
	if c.GetBlock() != nil {
		return &csi.NodeStageVolumeResponse{}, nil
	}
	if err := s.mountFilesystem(id, dev, staging, c.GetMount(), params, readOnly); err != nil {
		return nil, err
	}
	return &csi.NodeStageVolumeResponse{}, nil
}

// attach logs in and returns the disk, after proving it is the volume's:
// its SCSI serial must be the volume id (wrong-disk protection). On a
// mismatch nothing is formatted or mounted.
func (s *nodeService) attach(ctx context.Context, id string, t iscsi.Target) (string, error) {
	if err := s.cfg.Initiator.Login(ctx, t); err != nil {
		return "", fmt.Errorf("logging in to %s at %s: %w", t.IQN, t.Portal, err)
	}
	deadline := time.Now().Add(deviceTimeout)
	for {
		dev, err := s.cfg.Disks.WaitForDevice(ctx, t, max(time.Until(deadline), time.Second))
		if err != nil {
			return "", fmt.Errorf("finding the disk of %s: %w", t.IQN, err)
		}
		err = s.cfg.Disks.VerifySerial(dev, id)
		if err == nil {
			return dev, s.checkDiskReadable(dev, t)
		}
		// Seen in the real-kernel runs: the name found (a by-path link
		// udev has not yet moved to a new disk, or a disk still being
		// registered) is gone from sysfs a moment later. Look again
		// rather than fail a stage over udev lag.
		if errors.Is(err, iscsi.ErrDeviceNotFound) && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		if errors.Is(err, iscsi.ErrSerialMismatch) {
			// A session that shows another volume's disk must not linger:
			// the error is final, so undoStage removes the disk (its data
			// is not touched) and logs out; a retry starts over.
			klog.ErrorS(err, "Refusing a disk that is not the volume's", "volumeID", id, "device", dev)
		}
		return "", fmt.Errorf("disk %s behind %s: %w", dev, t.IQN, err)
	}
}

func (s *nodeService) mountFilesystem(id, dev, staging string, m *csi.VolumeCapability_MountVolume, params Parameters, readOnly bool) error {
	fsType := m.GetFsType()
	if fsType == "" {
		fsType = "ext4"
	}
	// The mount table first: the staging path of a filesystem that shut
	// down after I/O errors cannot even be stat'ed.
	mounted, err := s.readStagingMount(staging)
	if err != nil {
		return fmt.Errorf("checking %s: %w", staging, err)
	}
	if mounted.mounted() {
		// Staged before: a retry, or a staging mount that went bad
		// (node_staging_mount.go).
		done, err := s.reuseStagingMount(id, dev, mounted, readOnly)
		if done || err != nil {
			return err
		}
	}
	if err := os.MkdirAll(staging, 0o750); err != nil {
		return fmt.Errorf("creating %s: %w", staging, err)
	}
	opts := append([]string{"defaults"}, m.GetMountFlags()...)
	if fsType == "xfs" && !slices.Contains(opts, "nouuid") {
		// A clone or a restored snapshot has its source's filesystem UUID,
		// and xfs refuses to mount a second filesystem with a UUID already
		// mounted. nouuid turns that check off (docs/design.md, "Clones
		// next to their source").
		opts = append(opts, "nouuid")
	}
	mounter, watch := watchFormat(s.cfg.Mounter)
	if err := mounter.FormatAndMountSensitiveWithFormatOptions(dev, staging, fsType, opts, nil, params.FormatOptions(fsType)); err != nil {
		return fmt.Errorf("formatting/mounting %s at %s: %w", dev, staging, err)
	}
	if watch.formatted.Load() {
		return nil // a new filesystem fills its device
	}
	// A volume restored or cloned into a larger one carries its source's
	// smaller filesystem: grow it to the device now.
	need, err := s.cfg.Resizer.NeedResize(dev, staging)
	if err != nil {
		return fmt.Errorf("checking whether the filesystem on %s fills it: %w", dev, err)
	}
	if need {
		if _, err := s.cfg.Resizer.Resize(dev, staging); err != nil {
			return fmt.Errorf("growing the filesystem on %s to the device: %w", dev, err)
		}
		// NeedResize says yes to every ext4 and xfs filesystem and leaves
		// the size check to resize2fs and xfs_growfs, which do nothing
		// when it already fills the device: this says it ran, not that
		// it grew.
		klog.V(2).InfoS("Resized the filesystem to its device at stage", "device", dev)
	}
	return nil
}

// checkDiskReadable refuses a disk that cannot be read. Never hand one to
// SafeFormatAndMount: blkid exits 2, "no filesystem", when it cannot open
// the device, mount-utils then runs mkfs, and a disk that came back in
// between would be wiped.
func (s *nodeService) checkDiskReadable(dev string, t iscsi.Target) error {
	state, err := s.cfg.Disks.State(dev)
	switch {
	case err != nil:
		return fmt.Errorf("reading the state of %s: %w", dev, err)
	case state == "blocked":
		return fail(errDiskReconnecting, "disk %s of %s is %s: its iSCSI session is reconnecting; try again", dev, t.IQN, state)
	case iscsi.Unreachable(state):
		return fail(errDiskUnreachable, "disk %s of %s is %s: the target has not answered for longer than the replacement timeout, and every I/O to the disk fails", dev, t.IQN, state)
	}
	return nil
}

// sameDevice compares two device paths after resolving links.
func sameDevice(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

func (s *nodeService) NodeUnstageVolume(ctx context.Context, req *csi.NodeUnstageVolumeRequest) (*csi.NodeUnstageVolumeResponse, error) {
	id, staging := req.GetVolumeId(), req.GetStagingTargetPath()
	if err := s.check(volumeCall{id: id, paths: []string{"staging_target_path", staging}}); err != nil {
		return nil, err
	}
	if err := mount.CleanupMountPoint(staging, s.cfg.Mounter, true); err != nil {
		return nil, fmt.Errorf("unmounting %s: %w", staging, err)
	}
	if err := s.detach(ctx, id); err != nil {
		return nil, err
	}
	if err := s.records.remove(id); err != nil {
		return nil, fmt.Errorf("forgetting the staging of %s: %w", id, err)
	}
	return &csi.NodeUnstageVolumeResponse{}, nil
}

// detach flushes and deletes the volume's disk and logs out of its target
// only. The target comes from the stage record, or, when that is lost,
// from the live sessions whose IQN ends in the volume id. Every step
// tolerates what is already gone (device, session, record).
func (s *nodeService) detach(ctx context.Context, id string) error {
	rec, err := s.records.load(id)
	if err != nil {
		return fmt.Errorf("reading the staging record of %s: %w", id, err)
	}
	var targets []iscsi.Target
	if rec != nil {
		targets = append(targets, iscsi.Target{Portal: rec.Portal, IQN: rec.IQN, LUN: rec.LUN})
	}
	sessions, err := s.cfg.Initiator.Sessions(ctx)
	if err != nil {
		return fmt.Errorf("listing iSCSI sessions: %w", err)
	}
	for _, ses := range sessions {
		if publish.IsTargetOf(ses.IQN, id) && (rec == nil || ses.IQN != rec.IQN || ses.Portal != rec.Portal) {
			targets = append(targets, iscsi.Target{Portal: ses.Portal, IQN: ses.IQN, LUN: publish.LUN})
		}
	}
	for _, t := range targets {
		if hasSession(sessions, t) {
			dev, err := s.cfg.Disks.WaitForDevice(ctx, t, time.Second)
			switch {
			case err == nil:
				if err := s.cfg.Disks.Remove(ctx, dev); err != nil {
					return fmt.Errorf("removing disk %s of %s: %w", dev, t.IQN, err)
				}
			case !errors.Is(err, iscsi.ErrDeviceNotFound):
				return fmt.Errorf("finding the disk of %s: %w", t.IQN, err)
			}
		}
		if err := s.cfg.Initiator.Logout(ctx, t.Portal, t.IQN); err != nil {
			return fmt.Errorf("logging out of %s: %w", t.IQN, err)
		}
		if err := s.cfg.Initiator.DeleteRecord(ctx, t.Portal, t.IQN); err != nil {
			return fmt.Errorf("deleting the node record of %s: %w", t.IQN, err)
		}
	}
	return nil
}

func hasSession(sessions []iscsi.Session, t iscsi.Target) bool {
	for _, s := range sessions {
		if s.IQN == t.IQN && s.Portal == t.Portal {
			return true
		}
	}
	return false
}
