package driver

import (
	"context"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
)

func (s *controllerService) CreateVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	if err := validateName(req.GetName()); err != nil {
		return nil, err
	}
	if err := validateCapabilities(req.GetVolumeCapabilities()); err != nil {
		return nil, err
	}
	if err := noSecrets(req.GetSecrets()); err != nil {
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
	fromSnapshot, fromVolume, err := contentSource(req.GetVolumeContentSource())
	if err != nil {
		return nil, err
	}
	required := uint64(r.GetRequiredBytes())
	if floor := minimumSize(req.GetVolumeCapabilities()); required < floor {
		if r.GetLimitBytes() != 0 && uint64(r.GetLimitBytes()) < floor {
			return nil, fail(errOutOfRange, "the filesystem asked for needs at least %d bytes; limit_bytes is %d", floor, r.GetLimitBytes())
		}
		required = floor
	}
	v, err := s.storage.Create(ctx, params.createRequest(pool.CreateRequest{
		Name:           req.GetName(),
		RequiredSize:   required,
		LimitSize:      uint64(r.GetLimitBytes()),
		SourceSnapshot: fromSnapshot,
		SourceVolume:   fromVolume,
	}))
	if err != nil {
		return nil, err
	}
	return &csi.CreateVolumeResponse{Volume: &csi.Volume{
		VolumeId:      v.ID,
		CapacityBytes: int64(v.Size),
		ContentSource: req.GetVolumeContentSource(),
		VolumeContext: params.VolumeContext(),
	}}, nil
}

// contentSource reads the snapshot or volume a new volume starts from.
func contentSource(src *csi.VolumeContentSource) (fromSnapshot, fromVolume string, err error) {
	switch {
	case src == nil:
		return "", "", nil
	case src.GetSnapshot() != nil:
		id := src.GetSnapshot().GetSnapshotId()
		if id == "" {
			return "", "", invalid("volume_content_source.snapshot.snapshot_id is required")
		}
		if !pool.ValidSnapshotID(id) {
			return "", "", fail(errUnknownObject, "snapshot %q does not exist", id)
		}
		return id, "", nil
	case src.GetVolume() != nil:
		id := src.GetVolume().GetVolumeId()
		if id == "" {
			return "", "", invalid("volume_content_source.volume.volume_id is required")
		}
		return "", id, checkVolumeID(id)
	default:
		return "", "", invalid("volume_content_source names neither a snapshot nor a volume")
	}
}

func (s *controllerService) DeleteVolume(ctx context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	id := req.GetVolumeId()
	if id == "" {
		return nil, invalid("volume_id is required")
	}
	if !pool.ValidVolumeID(id) {
		return &csi.DeleteVolumeResponse{}, nil // cannot exist: already deleted
	}
	if err := s.storage.Delete(ctx, id); err != nil {
		return nil, err
	}
	return &csi.DeleteVolumeResponse{}, nil
}

func (s *controllerService) ValidateVolumeCapabilities(ctx context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
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
		return nil, err
	}
	if _, err := ParseParameters(req.GetParameters(), ParameterEnv{DefaultProvisioning: s.storage.DefaultProvisioning()}); err != nil {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: err.Error()}, nil
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

func (s *controllerService) ListVolumes(ctx context.Context, req *csi.ListVolumesRequest) (*csi.ListVolumesResponse, error) {
	vols, next, err := s.volumePage(ctx, req.GetMaxEntries(), req.GetStartingToken())
	if err != nil {
		return nil, err
	}
	resp := &csi.ListVolumesResponse{NextToken: next}
	for _, v := range vols {
		resp.Entries = append(resp.Entries, &csi.ListVolumesResponse_Entry{
			Volume: &csi.Volume{VolumeId: v.ID, CapacityBytes: int64(v.Size)},
			Status: &csi.ListVolumesResponse_VolumeStatus{PublishedNodeIds: nodeIDs(v)},
		})
	}
	return resp, nil
}

func (s *controllerService) ControllerGetVolume(ctx context.Context, req *csi.ControllerGetVolumeRequest) (*csi.ControllerGetVolumeResponse, error) {
	id := req.GetVolumeId()
	if err := checkVolumeID(id); err != nil {
		return nil, err
	}
	v, err := s.storage.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return &csi.ControllerGetVolumeResponse{
		Volume: &csi.Volume{VolumeId: v.ID, CapacityBytes: int64(v.Size)},
		Status: &csi.ControllerGetVolumeResponse_VolumeStatus{PublishedNodeIds: nodeIDs(v)},
	}, nil
}

// volumePage is one page of the volume list, for ListVolumes and
// ControllerListVolumeHealth.
func (s *controllerService) volumePage(ctx context.Context, maxEntries int32, token string) ([]pool.Volume, string, error) {
	if err := checkPaging(maxEntries, token, pool.ValidVolumeID); err != nil {
		return nil, "", err
	}
	vols, err := s.storage.List(ctx)
	if err != nil {
		return nil, "", err
	}
	vols, next := page(vols, func(v pool.Volume) string { return v.ID }, token, maxEntries)
	return vols, next, nil
}

// nodeIDs are the nodes a volume is published to.
func nodeIDs(v pool.Volume) []string {
	var ids []string
	for _, n := range v.Nodes {
		ids = append(ids, n.ID)
	}
	return ids
}

func (s *controllerService) GetCapacity(ctx context.Context, req *csi.GetCapacityRequest) (*csi.GetCapacityResponse, error) {
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
		return nil, err
	}
	return &csi.GetCapacityResponse{AvailableCapacity: int64(free)}, nil
}
