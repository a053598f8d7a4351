package driver

import (
	"context"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
)

// Storage is what the controller needs of the storage host (pkg/pool).
type Storage interface {
	Create(ctx context.Context, req pool.CreateRequest) (pool.Volume, error)
	Delete(ctx context.Context, id string) error
	Get(ctx context.Context, id string) (pool.Volume, error)
	List(ctx context.Context) ([]pool.Volume, error)
	Publish(ctx context.Context, id string, node pool.Node, shared bool) (pool.Export, error)
	Unpublish(ctx context.Context, id, nodeID string) error
	Capacity(ctx context.Context, prov pool.Provisioning) (uint64, error)
	DefaultProvisioning() pool.Provisioning
	// CHAPEnabled says whether publications carry CHAP credentials, which
	// only a node with a key can be given.
	CHAPEnabled() bool
	Expand(ctx context.Context, id string, required, limit uint64) (uint64, error)
	Snapshots
	VolumeHealth
}

// ControllerServer is the CSI controller service: each RPC takes its
// in-flight lock and maps errors to gRPC codes (locks.go), then runs the
// handler of controllerService, which knows neither.
//
// Where the handlers live: controller_volumes.go (create, delete, get,
// list, capacity, validate), controller_publish.go, controller_expand.go,
// controller_snapshots.go, controller_health.go.
type ControllerServer struct {
	csi.UnimplementedControllerServer
	svc   *controllerService
	locks inflight
}

// controllerService holds the controller's handlers, without locks.
type controllerService struct {
	storage Storage
}

// NewControllerServer serves CSI over storage.
func NewControllerServer(storage Storage) *ControllerServer {
	return &ControllerServer{svc: &controllerService{storage: storage}}
}

func (s *ControllerServer) CreateVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	return serve(&s.locks, volumeNameLock(req.GetName()), func() (*csi.CreateVolumeResponse, error) { return s.svc.CreateVolume(ctx, req) })
}

func (s *ControllerServer) DeleteVolume(ctx context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	return serve(&s.locks, volumeLock(req.GetVolumeId()), func() (*csi.DeleteVolumeResponse, error) { return s.svc.DeleteVolume(ctx, req) })
}

func (s *ControllerServer) ControllerPublishVolume(ctx context.Context, req *csi.ControllerPublishVolumeRequest) (*csi.ControllerPublishVolumeResponse, error) {
	return serve(&s.locks, volumeLock(req.GetVolumeId()), func() (*csi.ControllerPublishVolumeResponse, error) {
		return s.svc.ControllerPublishVolume(ctx, req)
	})
}

func (s *ControllerServer) ControllerUnpublishVolume(ctx context.Context, req *csi.ControllerUnpublishVolumeRequest) (*csi.ControllerUnpublishVolumeResponse, error) {
	return serve(&s.locks, volumeLock(req.GetVolumeId()), func() (*csi.ControllerUnpublishVolumeResponse, error) {
		return s.svc.ControllerUnpublishVolume(ctx, req)
	})
}

func (s *ControllerServer) ControllerExpandVolume(ctx context.Context, req *csi.ControllerExpandVolumeRequest) (*csi.ControllerExpandVolumeResponse, error) {
	return serve(&s.locks, volumeLock(req.GetVolumeId()), func() (*csi.ControllerExpandVolumeResponse, error) {
		return s.svc.ControllerExpandVolume(ctx, req)
	})
}

func (s *ControllerServer) CreateSnapshot(ctx context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	return serve(&s.locks, snapshotNameLock(req.GetName()), func() (*csi.CreateSnapshotResponse, error) { return s.svc.CreateSnapshot(ctx, req) })
}

func (s *ControllerServer) DeleteSnapshot(ctx context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	return serve(&s.locks, volumeLock(req.GetSnapshotId()), func() (*csi.DeleteSnapshotResponse, error) { return s.svc.DeleteSnapshot(ctx, req) })
}

func (s *ControllerServer) ValidateVolumeCapabilities(ctx context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	return serve(&s.locks, noLock, func() (*csi.ValidateVolumeCapabilitiesResponse, error) {
		return s.svc.ValidateVolumeCapabilities(ctx, req)
	})
}

func (s *ControllerServer) ListVolumes(ctx context.Context, req *csi.ListVolumesRequest) (*csi.ListVolumesResponse, error) {
	return serve(&s.locks, noLock, func() (*csi.ListVolumesResponse, error) { return s.svc.ListVolumes(ctx, req) })
}

func (s *ControllerServer) ControllerGetVolume(ctx context.Context, req *csi.ControllerGetVolumeRequest) (*csi.ControllerGetVolumeResponse, error) {
	return serve(&s.locks, noLock, func() (*csi.ControllerGetVolumeResponse, error) { return s.svc.ControllerGetVolume(ctx, req) })
}

func (s *ControllerServer) GetCapacity(ctx context.Context, req *csi.GetCapacityRequest) (*csi.GetCapacityResponse, error) {
	return serve(&s.locks, noLock, func() (*csi.GetCapacityResponse, error) { return s.svc.GetCapacity(ctx, req) })
}

func (s *ControllerServer) GetSnapshot(ctx context.Context, req *csi.GetSnapshotRequest) (*csi.GetSnapshotResponse, error) {
	return serve(&s.locks, noLock, func() (*csi.GetSnapshotResponse, error) { return s.svc.GetSnapshot(ctx, req) })
}

func (s *ControllerServer) ListSnapshots(ctx context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	return serve(&s.locks, noLock, func() (*csi.ListSnapshotsResponse, error) { return s.svc.ListSnapshots(ctx, req) })
}

func (s *ControllerServer) ControllerGetVolumeHealth(ctx context.Context, req *csi.ControllerGetVolumeHealthRequest) (*csi.ControllerGetVolumeHealthResponse, error) {
	return serve(&s.locks, noLock, func() (*csi.ControllerGetVolumeHealthResponse, error) {
		return s.svc.ControllerGetVolumeHealth(ctx, req)
	})
}

func (s *ControllerServer) ControllerListVolumeHealth(ctx context.Context, req *csi.ControllerListVolumeHealthRequest) (*csi.ControllerListVolumeHealthResponse, error) {
	return serve(&s.locks, noLock, func() (*csi.ControllerListVolumeHealthResponse, error) {
		return s.svc.ControllerListVolumeHealth(ctx, req)
	})
}

var controllerCapabilities = []csi.ControllerServiceCapability_RPC_Type{
	csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
	csi.ControllerServiceCapability_RPC_PUBLISH_UNPUBLISH_VOLUME,
	csi.ControllerServiceCapability_RPC_LIST_VOLUMES,
	csi.ControllerServiceCapability_RPC_LIST_VOLUMES_PUBLISHED_NODES,
	csi.ControllerServiceCapability_RPC_GET_CAPACITY,
	csi.ControllerServiceCapability_RPC_GET_VOLUME,
	csi.ControllerServiceCapability_RPC_SINGLE_NODE_MULTI_WRITER,
	csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
	csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
	csi.ControllerServiceCapability_RPC_GET_SNAPSHOT,
	csi.ControllerServiceCapability_RPC_CLONE_VOLUME,
	csi.ControllerServiceCapability_RPC_EXPAND_VOLUME,
	csi.ControllerServiceCapability_RPC_GET_VOLUME_HEALTH,
	csi.ControllerServiceCapability_RPC_LIST_VOLUME_HEALTH,
}

func (s *ControllerServer) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	resp := &csi.ControllerGetCapabilitiesResponse{}
	for _, c := range controllerCapabilities {
		resp.Capabilities = append(resp.Capabilities, &csi.ControllerServiceCapability{
			Type: &csi.ControllerServiceCapability_Rpc{Rpc: &csi.ControllerServiceCapability_RPC{Type: c}},
		})
	}
	return resp, nil
}
