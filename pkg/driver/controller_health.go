package driver

import (
	"context"
	"errors"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
)

// VolumeHealth is what the controller needs of the storage host for health.
type VolumeHealth interface {
	VolumeHealth(ctx context.Context, id string) ([]pool.Health, error)
}

func toCSIHealth(id string, hs []pool.Health) *csi.VolumeHealth {
	out := &csi.VolumeHealth{VolumeId: id}
	for _, h := range hs {
		out.HealthStatuses = append(out.HealthStatuses, &csi.VolumeHealth_VolumeHealthEntry{
			Status: csi.VolumeHealthErrorType_DEGRADED, Reason: h.Reason, Message: h.Message,
		})
	}
	return out
}

// ControllerGetVolumeHealth reports a volume's adverse conditions as
// DEGRADED (CSI 1.13): a thin volume whose pool is nearly full, a published
// volume whose target tgtd lacks (pool.VolumeHealth).
func (s *controllerService) ControllerGetVolumeHealth(ctx context.Context, req *csi.ControllerGetVolumeHealthRequest) (*csi.ControllerGetVolumeHealthResponse, error) {
	id := req.GetVolumeId()
	if err := required("volume_id", id); err != nil {
		return nil, err
	}
	if err := checkVolumeID(id); err != nil {
		return nil, err
	}
	hs, err := s.storage.VolumeHealth(ctx, id)
	if err != nil {
		return nil, err
	}
	return &csi.ControllerGetVolumeHealthResponse{VolumeHealth: toCSIHealth(id, hs)}, nil
}

// ControllerListVolumeHealth is ControllerGetVolumeHealth for every volume,
// paginated like ListVolumes.
func (s *controllerService) ControllerListVolumeHealth(ctx context.Context, req *csi.ControllerListVolumeHealthRequest) (*csi.ControllerListVolumeHealthResponse, error) {
	vols, next, err := s.volumePage(ctx, req.GetMaxEntries(), req.GetStartingToken())
	if err != nil {
		return nil, err
	}
	resp := &csi.ControllerListVolumeHealthResponse{NextToken: next}
	for _, v := range vols {
		hs, err := s.storage.VolumeHealth(ctx, v.ID)
		if errors.Is(err, pool.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		resp.Entries = append(resp.Entries, toCSIHealth(v.ID, hs))
	}
	return resp, nil
}
