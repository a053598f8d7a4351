package driver

import (
	"context"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
)

// Snapshots is what the controller needs of the storage host for
// snapshots (pkg/pool).
type Snapshots interface {
	CreateSnapshot(ctx context.Context, name, sourceID string) (pool.Snapshot, error)
	DeleteSnapshot(ctx context.Context, id string) error
	GetSnapshot(ctx context.Context, id string) (pool.Snapshot, error)
	ListSnapshots(ctx context.Context) ([]pool.Snapshot, error)
}

func toCSISnapshot(s pool.Snapshot) *csi.Snapshot {
	return &csi.Snapshot{
		SnapshotId:     s.ID,
		SourceVolumeId: s.SourceVolumeID,
		SizeBytes:      int64(s.Size),
		CreationTime:   timestamppb.New(s.CreatedAt),
		// An LVM snapshot is complete the moment lvcreate returns; a
		// copy-on-write one that overflowed never is again.
		ReadyToUse: !s.Invalid,
	}
}

// checkSnapshotParameters accepts no VolumeSnapshotClass parameter of its
// own; the external-snapshotter's csi.storage.k8s.io/ keys are ignored.
func checkSnapshotParameters(params map[string]string) error {
	for k := range params {
		if !strings.HasPrefix(k, kubernetesParamPrefix) {
			return invalid("unknown snapshot parameter %q (this driver has none)", k)
		}
	}
	return nil
}

func (s *controllerService) CreateSnapshot(ctx context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	if err := validateName(req.GetName()); err != nil {
		return nil, err
	}
	if err := required("source_volume_id", req.GetSourceVolumeId()); err != nil {
		return nil, err
	}
	if err := checkSnapshotParameters(req.GetParameters()); err != nil {
		return nil, err
	}
	if err := checkVolumeID(req.GetSourceVolumeId()); err != nil {
		return nil, err
	}
	snap, err := s.storage.CreateSnapshot(ctx, req.GetName(), req.GetSourceVolumeId())
	if err != nil {
		return nil, err
	}
	return &csi.CreateSnapshotResponse{Snapshot: toCSISnapshot(snap)}, nil
}

func (s *controllerService) DeleteSnapshot(ctx context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	id := req.GetSnapshotId()
	if err := required("snapshot_id", id); err != nil {
		return nil, err
	}
	if !pool.ValidSnapshotID(id) {
		return &csi.DeleteSnapshotResponse{}, nil // cannot exist: already deleted
	}
	if err := s.storage.DeleteSnapshot(ctx, id); err != nil {
		return nil, err
	}
	return &csi.DeleteSnapshotResponse{}, nil
}

func (s *controllerService) GetSnapshot(ctx context.Context, req *csi.GetSnapshotRequest) (*csi.GetSnapshotResponse, error) {
	id := req.GetSnapshotId()
	if err := required("snapshot_id", id); err != nil {
		return nil, err
	}
	snap, err := s.storage.GetSnapshot(ctx, id)
	if err != nil {
		return nil, err
	}
	return &csi.GetSnapshotResponse{Snapshot: toCSISnapshot(snap)}, nil
}

func (s *controllerService) ListSnapshots(ctx context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	if err := checkPaging(req.GetMaxEntries(), req.GetStartingToken(), pool.ValidSnapshotID); err != nil {
		return nil, err
	}
	snaps, err := s.storage.ListSnapshots(ctx)
	if err != nil {
		return nil, err
	}
	// Filters; an id that names nothing gives an empty list, not an error.
	var matched []pool.Snapshot
	for _, snap := range snaps {
		if (req.GetSnapshotId() == "" || snap.ID == req.GetSnapshotId()) &&
			(req.GetSourceVolumeId() == "" || snap.SourceVolumeID == req.GetSourceVolumeId()) {
			matched = append(matched, snap)
		}
	}
	matched, next := page(matched, func(s pool.Snapshot) string { return s.ID }, req.GetStartingToken(), req.GetMaxEntries())
	resp := &csi.ListSnapshotsResponse{NextToken: next}
	for _, snap := range matched {
		resp.Entries = append(resp.Entries, &csi.ListSnapshotsResponse_Entry{Snapshot: toCSISnapshot(snap)})
	}
	return resp, nil
}
