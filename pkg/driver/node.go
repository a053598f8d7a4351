package driver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"
	"k8s.io/mount-utils"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
)

// deviceTimeout bounds the wait for udev to create the disk after login.
const deviceTimeout = 60 * time.Second

// Disks is what the node needs to find, check and remove the SCSI disk
// behind a session (pkg/iscsi.Devices).
type Disks interface {
	WaitForDevice(ctx context.Context, t iscsi.Target, timeout time.Duration) (string, error)
	VerifySerial(dev, want string) error
	Size(dev string) (uint64, error)
	Remove(ctx context.Context, dev string) error
}

// NodeConfig is what a NodeServer is built from.
type NodeConfig struct {
	NodeID            string // NodeID(name, initiator IQN)
	MaxVolumesPerNode int64
	KubeletDir        string // staging and target paths must lie below it
	StateDir          string
	Initiator         iscsi.Initiator
	Disks             Disks
	Mounter           *mount.SafeFormatAndMount
	Resizer           Resizer
}

// Resizer grows a filesystem to its device (mount-utils' ResizeFs: ext4
// online with resize2fs, xfs with xfs_growfs on the mount point).
type Resizer interface {
	NeedResize(devicePath, deviceMountPath string) (bool, error)
	Resize(devicePath, deviceMountPath string) (bool, error)
}

// NodeServer is the CSI node service.
type NodeServer struct {
	csi.UnimplementedNodeServer
	cfg     NodeConfig
	records stageRecords
	volumes inflight
	// rescanTimeout bounds NodeExpandVolume's wait for the new size.
	rescanTimeout time.Duration
}

// NewNodeServer serves CSI on this node.
func NewNodeServer(cfg NodeConfig) *NodeServer {
	return &NodeServer{cfg: cfg, records: stageRecords{dir: filepath.Join(cfg.StateDir, "staged")}, rescanTimeout: rescanTimeout}
}

func (s *NodeServer) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{NodeId: s.cfg.NodeID, MaxVolumesPerNode: s.cfg.MaxVolumesPerNode}, nil
}

var nodeCapabilities = []csi.NodeServiceCapability_RPC_Type{
	csi.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME,
	csi.NodeServiceCapability_RPC_GET_VOLUME_STATS,
	csi.NodeServiceCapability_RPC_GET_VOLUME_HEALTH,
	csi.NodeServiceCapability_RPC_EXPAND_VOLUME,
	csi.NodeServiceCapability_RPC_SINGLE_NODE_MULTI_WRITER,
}

func (s *NodeServer) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	resp := &csi.NodeGetCapabilitiesResponse{}
	for _, c := range nodeCapabilities {
		resp.Capabilities = append(resp.Capabilities, &csi.NodeServiceCapability{
			Type: &csi.NodeServiceCapability_Rpc{Rpc: &csi.NodeServiceCapability_RPC{Type: c}},
		})
	}
	return resp, nil
}

// checkPath accepts only absolute, clean paths below the kubelet directory:
// nothing a request says may make the plugin mount or remove elsewhere.
func (s *NodeServer) checkPath(field, p string) error {
	switch {
	case p == "":
		return invalid("%s is required", field)
	case !filepath.IsAbs(p) || filepath.Clean(p) != p:
		return invalid("%s %q must be an absolute, clean path", field, p)
	case !strings.HasPrefix(p, s.cfg.KubeletDir+"/"):
		return invalid("%s %q is not below the kubelet directory %s", field, p, s.cfg.KubeletDir)
	}
	return nil
}

// checkPaths is checkPath over (field, path) pairs.
func (s *NodeServer) checkPaths(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := s.checkPath(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// targetFrom reads publish_context. The IQN must end in the volume id, so a
// context meant for another volume cannot make this one log in there.
func targetFrom(volumeID string, pc map[string]string) (iscsi.Target, error) {
	t := iscsi.Target{Portal: pc[ctxPortal], IQN: pc[ctxIQN]}
	if !iscsi.ValidPortal(t.Portal) {
		return t, invalid("publish_context %s %q is not host:port", ctxPortal, t.Portal)
	}
	if !iscsi.ValidIQN(t.IQN) || !strings.HasSuffix(t.IQN, ":"+volumeID) {
		return t, invalid("publish_context %s %q is not the target of volume %s", ctxIQN, t.IQN, volumeID)
	}
	lun, err := strconv.Atoi(pc[ctxLUN])
	if err != nil || lun < 0 || lun > 255 {
		return t, invalid("publish_context %s %q is not a LUN number", ctxLUN, pc[ctxLUN])
	}
	t.LUN = lun
	if user, pass := pc[ctxCHAPUser], pc[ctxCHAPPassword]; user != "" || pass != "" {
		if user == "" || pass == "" {
			return t, invalid("publish_context has half a CHAP credential")
		}
		t.CHAP = &iscsi.CHAP{User: user, Password: pass}
	}
	return t, nil
}

func (s *NodeServer) NodeStageVolume(ctx context.Context, req *csi.NodeStageVolumeRequest) (*csi.NodeStageVolumeResponse, error) {
	id, staging := req.GetVolumeId(), req.GetStagingTargetPath()
	if err := required("volume_id", id, "staging_target_path", staging); err != nil {
		return nil, err
	}
	c := req.GetVolumeCapability()
	if err := requireCapability(c); err != nil {
		return nil, err
	}
	if err := checkVolumeID(id); err != nil {
		return nil, err
	}
	if err := s.checkPath("staging_target_path", staging); err != nil {
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
	release, ok := s.volumes.tryLock(id)
	if !ok {
		return nil, aborted("volume " + id)
	}
	defer release()

	if err := s.records.save(id, stageRecord{Portal: target.Portal, IQN: target.IQN, LUN: target.LUN, StagingPath: staging}); err != nil {
		return nil, status.Errorf(codes.Internal, "recording the staging of %s: %v", id, err)
	}
	dev, err := s.attach(ctx, id, target)
	if err != nil {
		return nil, err
	}
	if c.GetBlock() != nil {
		return &csi.NodeStageVolumeResponse{}, nil
	}
	if err := s.mountFilesystem(dev, staging, c.GetMount(), params); err != nil {
		return nil, err
	}
	return &csi.NodeStageVolumeResponse{}, nil
}

// attach logs in and returns the disk, after proving it is the volume's:
// its SCSI serial must be the volume id (wrong-disk protection). On a
// mismatch nothing is formatted or mounted.
func (s *NodeServer) attach(ctx context.Context, id string, t iscsi.Target) (string, error) {
	if err := s.cfg.Initiator.Login(ctx, t); err != nil {
		return "", toStatus(fmt.Errorf("logging in to %s at %s: %w", t.IQN, t.Portal, err))
	}
	deadline := time.Now().Add(deviceTimeout)
	for {
		dev, err := s.cfg.Disks.WaitForDevice(ctx, t, max(time.Until(deadline), time.Second))
		if err != nil {
			return "", toStatus(fmt.Errorf("finding the disk of %s: %w", t.IQN, err))
		}
		err = s.cfg.Disks.VerifySerial(dev, id)
		if err == nil {
			return dev, nil
		}
		// Seen in the real-kernel runs: the name found (a by-path link
		// udev has not yet moved to a new disk, or a disk still being
		// registered) is gone from sysfs a moment later. Look again
		// rather than fail a stage over udev lag.
		if errors.Is(err, iscsi.ErrDeviceNotFound) && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return "", toStatus(ctx.Err())
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		if errors.Is(err, iscsi.ErrSerialMismatch) {
			klog.ErrorS(err, "Refusing a disk that is not the volume's; logging out of it", "volumeID", id, "device", dev)
			// A session that shows another volume's disk must not linger:
			// log out (the disk's data is not touched); a retry starts over.
			if lerr := s.cfg.Initiator.Logout(ctx, t.Portal, t.IQN); lerr != nil {
				klog.ErrorS(lerr, "Logging out of a mismatched target failed", "iqn", t.IQN)
			}
		}
		return "", toStatus(fmt.Errorf("disk %s behind %s: %w", dev, t.IQN, err))
	}
}

func (s *NodeServer) mountFilesystem(dev, staging string, m *csi.VolumeCapability_MountVolume, params Parameters) error {
	fsType := m.GetFsType()
	if fsType == "" {
		fsType = "ext4"
	}
	if err := os.MkdirAll(staging, 0o750); err != nil {
		return status.Errorf(codes.Internal, "creating %s: %v", staging, err)
	}
	notMnt, err := s.cfg.Mounter.IsLikelyNotMountPoint(staging)
	if err != nil {
		return status.Errorf(codes.Internal, "checking %s: %v", staging, err)
	}
	if !notMnt {
		src, _, err := mount.GetDeviceNameFromMount(s.cfg.Mounter, staging)
		if err != nil {
			return status.Errorf(codes.Internal, "checking what is mounted at %s: %v", staging, err)
		}
		if sameDevice(src, dev) {
			return nil // staged before: a retry
		}
		return status.Errorf(codes.AlreadyExists, "%s already has %s mounted, not %s", staging, src, dev)
	}
	opts := append([]string{"defaults"}, m.GetMountFlags()...)
	if err := s.cfg.Mounter.FormatAndMountSensitiveWithFormatOptions(dev, staging, fsType, opts, nil, params.FormatOptions(fsType)); err != nil {
		return status.Errorf(codes.Internal, "formatting/mounting %s at %s: %v", dev, staging, err)
	}
	// A volume restored or cloned into a larger one carries its source's
	// smaller filesystem: grow it to the device now.
	need, err := s.cfg.Resizer.NeedResize(dev, staging)
	if err != nil {
		return status.Errorf(codes.Internal, "checking whether the filesystem on %s fills it: %v", dev, err)
	}
	if need {
		if _, err := s.cfg.Resizer.Resize(dev, staging); err != nil {
			return status.Errorf(codes.Internal, "growing the filesystem on %s to the device: %v", dev, err)
		}
		klog.InfoS("Grew the filesystem to its device at stage", "device", dev)
	}
	return nil
}

// sameDevice compares two device paths after resolving links.
func sameDevice(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

func (s *NodeServer) NodeUnstageVolume(ctx context.Context, req *csi.NodeUnstageVolumeRequest) (*csi.NodeUnstageVolumeResponse, error) {
	id, staging := req.GetVolumeId(), req.GetStagingTargetPath()
	if err := required("volume_id", id, "staging_target_path", staging); err != nil {
		return nil, err
	}
	if err := checkVolumeID(id); err != nil {
		return nil, err
	}
	if err := s.checkPath("staging_target_path", staging); err != nil {
		return nil, err
	}
	release, ok := s.volumes.tryLock(id)
	if !ok {
		return nil, aborted("volume " + id)
	}
	defer release()

	if err := mount.CleanupMountPoint(staging, s.cfg.Mounter, true); err != nil {
		return nil, status.Errorf(codes.Internal, "unmounting %s: %v", staging, err)
	}
	if err := s.detach(ctx, id); err != nil {
		return nil, err
	}
	if err := s.records.remove(id); err != nil {
		return nil, status.Errorf(codes.Internal, "forgetting the staging of %s: %v", id, err)
	}
	return &csi.NodeUnstageVolumeResponse{}, nil
}

// detach flushes and deletes the volume's disk and logs out of its target
// only. The target comes from the stage record, or, when that is lost,
// from the live sessions whose IQN ends in the volume id. Every step
// tolerates what is already gone (device, session, record).
func (s *NodeServer) detach(ctx context.Context, id string) error {
	rec, err := s.records.load(id)
	if err != nil {
		return status.Errorf(codes.Internal, "reading the staging record of %s: %v", id, err)
	}
	var targets []iscsi.Target
	if rec != nil {
		targets = append(targets, iscsi.Target{Portal: rec.Portal, IQN: rec.IQN, LUN: rec.LUN})
	}
	sessions, err := s.cfg.Initiator.Sessions(ctx)
	if err != nil {
		return toStatus(fmt.Errorf("listing iSCSI sessions: %w", err))
	}
	for _, ses := range sessions {
		if strings.HasSuffix(ses.IQN, ":"+id) && (rec == nil || ses.IQN != rec.IQN || ses.Portal != rec.Portal) {
			targets = append(targets, iscsi.Target{Portal: ses.Portal, IQN: ses.IQN, LUN: 1})
		}
	}
	for _, t := range targets {
		if hasSession(sessions, t) {
			dev, err := s.cfg.Disks.WaitForDevice(ctx, t, time.Second)
			switch {
			case err == nil:
				if err := s.cfg.Disks.Remove(ctx, dev); err != nil {
					return toStatus(fmt.Errorf("removing disk %s of %s: %w", dev, t.IQN, err))
				}
			case !errors.Is(err, iscsi.ErrDeviceNotFound):
				return toStatus(fmt.Errorf("finding the disk of %s: %w", t.IQN, err))
			}
		}
		if err := s.cfg.Initiator.Logout(ctx, t.Portal, t.IQN); err != nil {
			return toStatus(fmt.Errorf("logging out of %s: %w", t.IQN, err))
		}
		if err := s.cfg.Initiator.DeleteRecord(ctx, t.Portal, t.IQN); err != nil {
			return toStatus(fmt.Errorf("deleting the node record of %s: %w", t.IQN, err))
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

func (s *NodeServer) NodePublishVolume(ctx context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	id, staging, target := req.GetVolumeId(), req.GetStagingTargetPath(), req.GetTargetPath()
	if err := required("volume_id", id, "staging_target_path", staging, "target_path", target); err != nil {
		return nil, err
	}
	c := req.GetVolumeCapability()
	if err := requireCapability(c); err != nil {
		return nil, err
	}
	if err := checkVolumeID(id); err != nil {
		return nil, err
	}
	if err := s.checkPaths("staging_target_path", staging, "target_path", target); err != nil {
		return nil, err
	}
	release, ok := s.volumes.tryLock(id + "\x00" + target)
	if !ok {
		return nil, aborted("volume " + id + " at " + target)
	}
	defer release()

	opts := []string{"bind"}
	if req.GetReadonly() {
		opts = append(opts, "ro")
	}
	// The target is a file for a block volume (the device is bind-mounted
	// onto it) and a directory for a filesystem.
	var source string
	makeTarget := makeDir
	if c.GetBlock() != nil {
		makeTarget = makeFile
		t, err := targetFrom(id, req.GetPublishContext())
		if err != nil {
			return nil, err
		}
		if source, err = s.cfg.Disks.WaitForDevice(ctx, t, 5*time.Second); err != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "volume %s is not staged on this node: %v", id, err)
		}
		if err := s.cfg.Disks.VerifySerial(source, id); err != nil {
			return nil, toStatus(err)
		}
	} else {
		notMnt, err := s.cfg.Mounter.IsLikelyNotMountPoint(staging)
		if err != nil || notMnt {
			return nil, status.Errorf(codes.FailedPrecondition, "volume %s is not staged at %s", id, staging)
		}
		source = staging
		opts = append(opts, c.GetMount().GetMountFlags()...)
	}
	// Checked before the target is created, so a refused call leaves
	// nothing behind.
	if c.GetAccessMode().GetMode() == csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER {
		if err := s.checkSingleWriter(source, target); err != nil {
			return nil, err
		}
	}
	if err := makeTarget(target); err != nil {
		return nil, status.Errorf(codes.Internal, "creating %s: %v", target, err)
	}
	notMnt, err := s.cfg.Mounter.IsLikelyNotMountPoint(target)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "checking %s: %v", target, err)
	}
	if !notMnt {
		return &csi.NodePublishVolumeResponse{}, nil // published before: a retry
	}
	if err := s.cfg.Mounter.Mount(source, target, "", opts); err != nil {
		return nil, status.Errorf(codes.Internal, "bind-mounting %s at %s: %v", source, target, err)
	}
	return &csi.NodePublishVolumeResponse{}, nil
}

// checkSingleWriter refuses a second publication of a single-writer volume:
// any other mount of the same source (besides the staging mount itself)
// is a workload already using it.
func (s *NodeServer) checkSingleWriter(source, target string) error {
	refs, err := s.cfg.Mounter.GetMountRefs(source)
	if err != nil {
		return status.Errorf(codes.Internal, "listing the mounts of %s: %v", source, err)
	}
	for _, ref := range refs {
		if ref != target && ref != source {
			return status.Errorf(codes.FailedPrecondition, "single-writer volume is already published at %s", ref)
		}
	}
	return nil
}

func makeDir(path string) error { return os.MkdirAll(path, 0o750) }

func makeFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o640)
	if err != nil {
		return err
	}
	return f.Close()
}

func (s *NodeServer) NodeUnpublishVolume(ctx context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	id, target := req.GetVolumeId(), req.GetTargetPath()
	if err := required("volume_id", id, "target_path", target); err != nil {
		return nil, err
	}
	if err := checkVolumeID(id); err != nil {
		return nil, err
	}
	if err := s.checkPath("target_path", target); err != nil {
		return nil, err
	}
	release, ok := s.volumes.tryLock(id + "\x00" + target)
	if !ok {
		return nil, aborted("volume " + id + " at " + target)
	}
	defer release()
	if err := mount.CleanupMountPoint(target, s.cfg.Mounter, true); err != nil {
		return nil, status.Errorf(codes.Internal, "unmounting %s: %v", target, err)
	}
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

func (s *NodeServer) NodeGetVolumeStats(ctx context.Context, req *csi.NodeGetVolumeStatsRequest) (*csi.NodeGetVolumeStatsResponse, error) {
	id, p := req.GetVolumeId(), req.GetVolumePath()
	if err := required("volume_id", id, "volume_path", p); err != nil {
		return nil, err
	}
	if err := checkVolumeID(id); err != nil {
		return nil, err
	}
	if err := s.checkPath("volume_path", p); err != nil {
		// Not a path this plugin could have published the volume at.
		return nil, status.Errorf(codes.NotFound, "no volume at %q: %s", p, status.Convert(err).Message())
	}
	info, err := os.Stat(p)
	if err != nil {
		return nil, status.Errorf(codes.NotFound, "volume path %s: %v", p, err)
	}
	if !info.IsDir() {
		// A block volume: its size is the device's.
		size, err := blockDeviceSize(p)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "reading the size of %s: %v", p, err)
		}
		return &csi.NodeGetVolumeStatsResponse{Usage: []*csi.VolumeUsage{{Unit: csi.VolumeUsage_BYTES, Total: int64(size)}}}, nil
	}
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return nil, status.Errorf(codes.Internal, "statfs %s: %v", p, err)
	}
	bs := int64(st.Bsize)
	return &csi.NodeGetVolumeStatsResponse{Usage: []*csi.VolumeUsage{
		{Unit: csi.VolumeUsage_BYTES, Total: int64(st.Blocks) * bs, Available: int64(st.Bavail) * bs, Used: int64(st.Blocks-st.Bfree) * bs},
		{Unit: csi.VolumeUsage_INODES, Total: int64(st.Files), Available: int64(st.Ffree), Used: int64(st.Files - st.Ffree)},
	}}, nil
}

// NodeGetVolumeHealth reports a staged volume whose iSCSI session or disk
// is gone as INACCESSIBLE (CSI 1.13's successor of VolumeCondition).
func (s *NodeServer) NodeGetVolumeHealth(ctx context.Context, req *csi.NodeGetVolumeHealthRequest) (*csi.NodeGetVolumeHealthResponse, error) {
	id := req.GetVolumeId()
	if err := checkVolumeID(id); err != nil {
		return nil, err
	}
	for field, p := range map[string]string{"volume_publish_path": req.GetVolumePublishPath(), "staging_target_path": req.GetStagingTargetPath()} {
		if p != "" {
			if err := s.checkPath(field, p); err != nil {
				return nil, err
			}
		}
	}
	health := &csi.VolumeHealth{VolumeId: id}
	if problem := s.healthProblem(ctx, id); problem != nil {
		health.HealthStatuses = []*csi.VolumeHealth_VolumeHealthEntry{problem}
	}
	return &csi.NodeGetVolumeHealthResponse{VolumeHealth: health}, nil
}

func (s *NodeServer) healthProblem(ctx context.Context, id string) *csi.VolumeHealth_VolumeHealthEntry {
	inaccessible := func(reason, msg string) *csi.VolumeHealth_VolumeHealthEntry {
		return &csi.VolumeHealth_VolumeHealthEntry{Status: csi.VolumeHealthErrorType_INACCESSIBLE, Reason: reason, Message: msg}
	}
	rec, err := s.records.load(id)
	if err != nil || rec == nil {
		return inaccessible("NotStaged", "the volume is not staged on this node")
	}
	sessions, err := s.cfg.Initiator.Sessions(ctx)
	if err != nil {
		return inaccessible("SessionsUnknown", "cannot list iSCSI sessions: "+err.Error())
	}
	t := iscsi.Target{Portal: rec.Portal, IQN: rec.IQN, LUN: rec.LUN}
	if !hasSession(sessions, t) {
		return inaccessible("NoSession", "no iSCSI session to "+rec.IQN)
	}
	if _, err := s.cfg.Disks.WaitForDevice(ctx, t, time.Second); err != nil {
		return inaccessible("NoDisk", "the disk of "+rec.IQN+" is gone: "+err.Error())
	}
	return nil
}

// blockDeviceSize reads a block device's size by seeking to its end.
func blockDeviceSize(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	return uint64(end), nil
}
