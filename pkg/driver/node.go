package driver

import (
	"context"
	"path/filepath"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"k8s.io/mount-utils"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
)

// deviceTimeout bounds the wait for udev to create the disk after login.
const deviceTimeout = 60 * time.Second

// Disks is what the node needs to find, check and remove the SCSI disk
// behind a session (pkg/iscsi.Devices).
type Disks interface {
	WaitForDevice(ctx context.Context, t iscsi.Target, timeout time.Duration) (string, error)
	VerifySerial(dev, want string) error
	Size(dev string) (uint64, error)
	// State is the disk's SCSI state (running, blocked, transport-offline,
	// offline).
	State(dev string) (string, error)
	Remove(ctx context.Context, dev string) error
}

// NodeConfig is what a NodeServer is built from.
type NodeConfig struct {
	NodeID string // NodeID(name, initiator IQN, Key.Public)
	// Key opens the CHAP credentials the controller sealed to this node
	// (LoadNodeKey).
	Key               *publish.NodeKey
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

// NodeServer is the CSI node service: each RPC takes its in-flight lock
// and maps errors to gRPC codes (locks.go), then runs the handler of
// nodeService, which knows neither.
//
// Where the handlers live: node_stage.go (stage, unstage: login, serial
// check, format, mount, and the way back), node_publish.go (bind mounts),
// node_expand.go, node_health.go (stats and health).
type NodeServer struct {
	csi.UnimplementedNodeServer
	svc   *nodeService
	locks inflight
}

// nodeService holds the node's handlers, without locks.
type nodeService struct {
	cfg     NodeConfig
	records stageRecords
	// rescanTimeout bounds NodeExpandVolume's wait for the new size, and
	// rescanEvery spaces its rescans (node_expand.go).
	rescanTimeout, rescanEvery time.Duration
	// probeMount checks that a mounted filesystem answers, and takes
	// writes when writable (probeFilesystem); probeTimeout bounds it.
	probeMount   func(path string, writable bool) error
	probeTimeout time.Duration
}

// NewNodeServer serves CSI on this node.
func NewNodeServer(cfg NodeConfig) *NodeServer {
	return &NodeServer{svc: &nodeService{
		cfg:           cfg,
		records:       stageRecords{dir: filepath.Join(cfg.StateDir, "staged")},
		rescanTimeout: rescanTimeout,
		rescanEvery:   rescanEvery,
		probeMount:    probeFilesystem,
		probeTimeout:  probeTimeout,
	}}
}

func (s *NodeServer) NodeStageVolume(ctx context.Context, req *csi.NodeStageVolumeRequest) (*csi.NodeStageVolumeResponse, error) {
	return serve(&s.locks, volumeLock(req.GetVolumeId()), func() (*csi.NodeStageVolumeResponse, error) { return s.svc.NodeStageVolume(ctx, req) })
}

func (s *NodeServer) NodeUnstageVolume(ctx context.Context, req *csi.NodeUnstageVolumeRequest) (*csi.NodeUnstageVolumeResponse, error) {
	return serve(&s.locks, volumeLock(req.GetVolumeId()), func() (*csi.NodeUnstageVolumeResponse, error) { return s.svc.NodeUnstageVolume(ctx, req) })
}

func (s *NodeServer) NodePublishVolume(ctx context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	return serve(&s.locks, publicationLock(req.GetVolumeId(), req.GetTargetPath()), func() (*csi.NodePublishVolumeResponse, error) {
		return s.svc.NodePublishVolume(ctx, req)
	})
}

func (s *NodeServer) NodeUnpublishVolume(ctx context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	return serve(&s.locks, publicationLock(req.GetVolumeId(), req.GetTargetPath()), func() (*csi.NodeUnpublishVolumeResponse, error) {
		return s.svc.NodeUnpublishVolume(ctx, req)
	})
}

func (s *NodeServer) NodeExpandVolume(ctx context.Context, req *csi.NodeExpandVolumeRequest) (*csi.NodeExpandVolumeResponse, error) {
	return serve(&s.locks, volumeLock(req.GetVolumeId()), func() (*csi.NodeExpandVolumeResponse, error) { return s.svc.NodeExpandVolume(ctx, req) })
}

func (s *NodeServer) NodeGetVolumeStats(ctx context.Context, req *csi.NodeGetVolumeStatsRequest) (*csi.NodeGetVolumeStatsResponse, error) {
	return serve(&s.locks, noLock, func() (*csi.NodeGetVolumeStatsResponse, error) { return s.svc.NodeGetVolumeStats(ctx, req) })
}

func (s *NodeServer) NodeGetVolumeHealth(ctx context.Context, req *csi.NodeGetVolumeHealthRequest) (*csi.NodeGetVolumeHealthResponse, error) {
	return serve(&s.locks, noLock, func() (*csi.NodeGetVolumeHealthResponse, error) { return s.svc.NodeGetVolumeHealth(ctx, req) })
}

func (s *NodeServer) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{NodeId: s.svc.cfg.NodeID, MaxVolumesPerNode: s.svc.cfg.MaxVolumesPerNode}, nil
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
