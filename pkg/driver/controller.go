package driver

import (
	"context"
	"strconv"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
)

// Keys of publish_context: what a node needs to log in, nothing more.
const (
	ctxPortal       = "portal"
	ctxIQN          = "iqn"
	ctxLUN          = "lun"
	ctxCHAPUser     = "chapUser"
	ctxCHAPPassword = "chapPassword" // masked in logs by the interceptor
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
	Expand(ctx context.Context, id string, required, limit uint64) (uint64, error)
	Snapshots
	VolumeHealth
}

// ControllerServer is the CSI controller service.
type ControllerServer struct {
	csi.UnimplementedControllerServer
	storage Storage
	names   inflight // CreateVolume, by name
	volumes inflight // everything else, by volume id
}

// NewControllerServer serves CSI over storage.
func NewControllerServer(storage Storage) *ControllerServer {
	return &ControllerServer{storage: storage}
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

func (s *ControllerServer) CreateVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	if err := validateName(req.GetName()); err != nil {
		return nil, err
	}
	if err := validateCapabilities(req.GetVolumeCapabilities()); err != nil {
		return nil, err
	}
	params, err := ParseParameters(req.GetParameters(), ParameterEnv{DefaultProvisioning: s.storage.DefaultProvisioning()})
	if err != nil {
		return nil, err
	}
	r := req.GetCapacityRange()
	if r.GetRequiredBytes() < 0 || r.GetLimitBytes() < 0 {
		return nil, invalid("capacity_range must not be negative")
	}
	var fromSnapshot, fromVolume string
	if src := req.GetVolumeContentSource(); src != nil {
		switch {
		case src.GetSnapshot() != nil:
			fromSnapshot = src.GetSnapshot().GetSnapshotId()
			if fromSnapshot == "" {
				return nil, invalid("volume_content_source.snapshot.snapshot_id is required")
			}
			if !pool.ValidSnapshotID(fromSnapshot) {
				return nil, status.Errorf(codes.NotFound, "snapshot %q does not exist", fromSnapshot)
			}
		case src.GetVolume() != nil:
			fromVolume = src.GetVolume().GetVolumeId()
			if fromVolume == "" {
				return nil, invalid("volume_content_source.volume.volume_id is required")
			}
			if err := checkVolumeID(fromVolume); err != nil {
				return nil, err
			}
		default:
			return nil, invalid("volume_content_source names neither a snapshot nor a volume")
		}
	}
	required := uint64(r.GetRequiredBytes())
	if floor := minimumSize(req.GetVolumeCapabilities()); required < floor {
		if r.GetLimitBytes() != 0 && uint64(r.GetLimitBytes()) < floor {
			return nil, status.Errorf(codes.OutOfRange, "the filesystem asked for needs at least %d bytes; limit_bytes is %d", floor, r.GetLimitBytes())
		}
		required = floor
	}
	release, ok := s.names.tryLock(req.GetName())
	if !ok {
		return nil, aborted("volume name " + strconv.Quote(req.GetName()))
	}
	defer release()
	v, err := s.storage.Create(ctx, params.createRequest(pool.CreateRequest{
		Name:           req.GetName(),
		RequiredSize:   required,
		LimitSize:      uint64(r.GetLimitBytes()),
		SourceSnapshot: fromSnapshot,
		SourceVolume:   fromVolume,
	}))
	if err != nil {
		return nil, toStatus(err)
	}
	return &csi.CreateVolumeResponse{Volume: &csi.Volume{
		VolumeId:      v.ID,
		CapacityBytes: int64(v.Size),
		ContentSource: req.GetVolumeContentSource(),
		VolumeContext: params.VolumeContext(),
	}}, nil
}

func (s *ControllerServer) DeleteVolume(ctx context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	id := req.GetVolumeId()
	if id == "" {
		return nil, invalid("volume_id is required")
	}
	if !pool.ValidVolumeID(id) {
		return &csi.DeleteVolumeResponse{}, nil // cannot exist: already deleted
	}
	release, ok := s.volumes.tryLock(id)
	if !ok {
		return nil, aborted("volume " + id)
	}
	defer release()
	if err := s.storage.Delete(ctx, id); err != nil {
		return nil, toStatus(err)
	}
	return &csi.DeleteVolumeResponse{}, nil
}

func (s *ControllerServer) ControllerPublishVolume(ctx context.Context, req *csi.ControllerPublishVolumeRequest) (*csi.ControllerPublishVolumeResponse, error) {
	id := req.GetVolumeId()
	if err := required("volume_id", id, "node_id", req.GetNodeId()); err != nil {
		return nil, err
	}
	if err := requireCapability(req.GetVolumeCapability()); err != nil {
		return nil, err
	}
	if err := checkVolumeID(id); err != nil {
		return nil, err
	}
	node, err := parseNodeID(req.GetNodeId())
	if err != nil {
		return nil, err
	}
	release, ok := s.volumes.tryLock(id)
	if !ok {
		return nil, aborted("volume " + id)
	}
	defer release()
	exp, err := s.storage.Publish(ctx, id, node, isMultiNode(req.GetVolumeCapability()))
	if err != nil {
		return nil, toStatus(err)
	}
	pc := map[string]string{ctxPortal: exp.Portal, ctxIQN: exp.IQN, ctxLUN: strconv.Itoa(exp.LUN)}
	if exp.CHAP != nil {
		pc[ctxCHAPUser] = exp.CHAP.User
		pc[ctxCHAPPassword] = exp.CHAP.Password
	}
	return &csi.ControllerPublishVolumeResponse{PublishContext: pc}, nil
}

func (s *ControllerServer) ControllerUnpublishVolume(ctx context.Context, req *csi.ControllerUnpublishVolumeRequest) (*csi.ControllerUnpublishVolumeResponse, error) {
	id := req.GetVolumeId()
	if id == "" {
		return nil, invalid("volume_id is required")
	}
	if !pool.ValidVolumeID(id) {
		return &csi.ControllerUnpublishVolumeResponse{}, nil
	}
	release, ok := s.volumes.tryLock(id)
	if !ok {
		return nil, aborted("volume " + id)
	}
	defer release()
	nodeIDs := []string{req.GetNodeId()}
	if req.GetNodeId() == "" {
		// The spec's "unpublish from every node".
		v, err := s.storage.Get(ctx, id)
		if err != nil {
			return unpublishDone(err)
		}
		nodeIDs = nodeIDs[:0]
		for _, n := range v.Nodes {
			nodeIDs = append(nodeIDs, n.ID)
		}
	}
	for _, n := range nodeIDs {
		if err := s.storage.Unpublish(ctx, id, n); err != nil {
			return unpublishDone(err)
		}
	}
	return &csi.ControllerUnpublishVolumeResponse{}, nil
}

// unpublishDone: a volume that no longer exists is unpublished everywhere.
func unpublishDone(err error) (*csi.ControllerUnpublishVolumeResponse, error) {
	st := toStatus(err)
	if status.Code(st) == codes.NotFound {
		return &csi.ControllerUnpublishVolumeResponse{}, nil
	}
	return nil, st
}

func (s *ControllerServer) ValidateVolumeCapabilities(ctx context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	id := req.GetVolumeId()
	if err := required("volume_id", id); err != nil {
		return nil, err
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, invalid("volume_capabilities are required")
	}
	if err := checkVolumeID(id); err != nil {
		return nil, err
	}
	if _, err := s.storage.Get(ctx, id); err != nil {
		return nil, toStatus(err)
	}
	if _, err := ParseParameters(req.GetParameters(), ParameterEnv{DefaultProvisioning: s.storage.DefaultProvisioning()}); err != nil {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: status.Convert(err).Message()}, nil
	}
	for _, c := range req.GetVolumeCapabilities() {
		if why := checkCapability(c); why != "" {
			return &csi.ValidateVolumeCapabilitiesResponse{Message: why}, nil
		}
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext:      req.GetVolumeContext(),
		VolumeCapabilities: req.GetVolumeCapabilities(),
		Parameters:         req.GetParameters(),
	}}, nil
}

func (s *ControllerServer) ListVolumes(ctx context.Context, req *csi.ListVolumesRequest) (*csi.ListVolumesResponse, error) {
	if err := checkPaging(req.GetMaxEntries(), req.GetStartingToken(), pool.ValidVolumeID); err != nil {
		return nil, err
	}
	vols, err := s.storage.List(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	vols, next := page(vols, func(v pool.Volume) string { return v.ID }, req.GetStartingToken(), req.GetMaxEntries())
	resp := &csi.ListVolumesResponse{NextToken: next}
	for _, v := range vols {
		entry := &csi.ListVolumesResponse_Entry{
			Volume: &csi.Volume{VolumeId: v.ID, CapacityBytes: int64(v.Size)},
			Status: &csi.ListVolumesResponse_VolumeStatus{},
		}
		for _, n := range v.Nodes {
			entry.Status.PublishedNodeIds = append(entry.Status.PublishedNodeIds, n.ID)
		}
		resp.Entries = append(resp.Entries, entry)
	}
	return resp, nil
}

func (s *ControllerServer) ControllerGetVolume(ctx context.Context, req *csi.ControllerGetVolumeRequest) (*csi.ControllerGetVolumeResponse, error) {
	id := req.GetVolumeId()
	if err := checkVolumeID(id); err != nil {
		return nil, err
	}
	v, err := s.storage.Get(ctx, id)
	if err != nil {
		return nil, toStatus(err)
	}
	st := &csi.ControllerGetVolumeResponse_VolumeStatus{}
	for _, n := range v.Nodes {
		st.PublishedNodeIds = append(st.PublishedNodeIds, n.ID)
	}
	return &csi.ControllerGetVolumeResponse{
		Volume: &csi.Volume{VolumeId: v.ID, CapacityBytes: int64(v.Size)},
		Status: st,
	}, nil
}

func (s *ControllerServer) GetCapacity(ctx context.Context, req *csi.GetCapacityRequest) (*csi.GetCapacityResponse, error) {
	for _, c := range req.GetVolumeCapabilities() {
		if why := checkCapability(c); why != "" {
			return &csi.GetCapacityResponse{}, nil // no room for what cannot be served
		}
	}
	params, err := ParseParameters(req.GetParameters(), ParameterEnv{DefaultProvisioning: s.storage.DefaultProvisioning()})
	if err != nil {
		return nil, err
	}
	free, err := s.storage.Capacity(ctx, params.Provisioning)
	if err != nil {
		return nil, toStatus(err)
	}
	return &csi.GetCapacityResponse{AvailableCapacity: int64(free)}, nil
}
