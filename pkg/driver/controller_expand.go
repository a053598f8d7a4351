package driver

import (
	"context"

	"github.com/container-storage-interface/spec/lib/go/csi"
)

func (s *controllerService) ControllerExpandVolume(ctx context.Context, req *csi.ControllerExpandVolumeRequest) (*csi.ControllerExpandVolumeResponse, error) {
	id := req.GetVolumeId()
	if err := required("volume_id", id); err != nil {
		return nil, err
	}
	r := req.GetCapacityRange()
	if r == nil {
		return nil, invalid("capacity_range is required")
	}
	if r.GetRequiredBytes() < 0 || r.GetLimitBytes() < 0 {
		return nil, invalid("capacity_range must not be negative")
	}
	if err := optionalCapability(req.GetVolumeCapability()); err != nil {
		return nil, err
	}
	if err := checkVolumeID(id); err != nil {
		return nil, err
	}
	size, err := s.storage.Expand(ctx, id, uint64(r.GetRequiredBytes()), uint64(r.GetLimitBytes()))
	if err != nil {
		return nil, err
	}
	// Always through the node: it must rescan the session to see the new
	// size, block volume or not, and grow the filesystem if there is one.
	return &csi.ControllerExpandVolumeResponse{CapacityBytes: int64(size), NodeExpansionRequired: true}, nil
}
