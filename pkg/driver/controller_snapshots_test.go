package driver

import (
	"context"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
)

func TestSnapshotLifecycle(t *testing.T) {
	c, _, _ := newController(t)
	ctx := context.Background()
	vol, err := c.CreateVolume(ctx, createReq("src", 8*mib, nil))
	if err != nil {
		t.Fatal(err)
	}
	src := vol.GetVolume().GetVolumeId()
	snap, err := c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snap-1", SourceVolumeId: src})
	if err != nil {
		t.Fatal(err)
	}
	s := snap.GetSnapshot()
	if !s.GetReadyToUse() || s.GetSourceVolumeId() != src || s.GetSizeBytes() != 8*mib || s.GetCreationTime() == nil || !pool.ValidSnapshotID(s.GetSnapshotId()) {
		t.Fatalf("snapshot = %v", s)
	}
	again, err := c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snap-1", SourceVolumeId: src})
	if err != nil || again.GetSnapshot().GetSnapshotId() != s.GetSnapshotId() {
		t.Fatalf("retry = %v, %v", again, err)
	}
	other, _ := c.CreateVolume(ctx, createReq("other", 8*mib, nil))
	_, err = c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snap-1", SourceVolumeId: other.GetVolume().GetVolumeId()})
	wantCode(t, err, codes.AlreadyExists)
	_, err = c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snap-2", SourceVolumeId: pool.VolumeID("gone")})
	wantCode(t, err, codes.NotFound)
	_, err = c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{SourceVolumeId: src})
	wantCode(t, err, codes.InvalidArgument)
	_, err = c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snap-3"})
	wantCode(t, err, codes.InvalidArgument)
	_, err = c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snap-3", SourceVolumeId: src, Parameters: map[string]string{"x": "y"}})
	wantCode(t, err, codes.InvalidArgument)

	get, err := c.GetSnapshot(ctx, &csi.GetSnapshotRequest{SnapshotId: s.GetSnapshotId()})
	if err != nil || get.GetSnapshot().GetSnapshotId() != s.GetSnapshotId() {
		t.Fatalf("GetSnapshot = %v, %v", get, err)
	}
	_, err = c.GetSnapshot(ctx, &csi.GetSnapshotRequest{SnapshotId: pool.SnapshotID("none")})
	wantCode(t, err, codes.NotFound)

	// Restore, larger than the source.
	restored, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "restored", VolumeCapabilities: []*csi.VolumeCapability{rwo},
		CapacityRange:       &csi.CapacityRange{RequiredBytes: 16 * mib},
		VolumeContentSource: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: s.GetSnapshotId()}}}})
	if err != nil {
		t.Fatal(err)
	}
	if restored.GetVolume().GetCapacityBytes() != 16*mib || restored.GetVolume().GetContentSource().GetSnapshot().GetSnapshotId() != s.GetSnapshotId() {
		t.Fatalf("restored = %v", restored.GetVolume())
	}
	clone, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "clone", VolumeCapabilities: []*csi.VolumeCapability{rwo},
		VolumeContentSource: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: src}}}})
	if err != nil || clone.GetVolume().GetCapacityBytes() != 8*mib {
		t.Fatalf("clone = %v, %v (want the source's size when none is asked)", clone, err)
	}
	_, err = c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "bad", VolumeCapabilities: []*csi.VolumeCapability{rwo},
		VolumeContentSource: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: pool.SnapshotID("none")}}}})
	wantCode(t, err, codes.NotFound)

	list, err := c.ListSnapshots(ctx, &csi.ListSnapshotsRequest{SourceVolumeId: src})
	if err != nil || len(list.GetEntries()) != 1 {
		t.Fatalf("ListSnapshots by source = %v, %v", list, err)
	}
	none, _ := c.ListSnapshots(ctx, &csi.ListSnapshotsRequest{SnapshotId: pool.SnapshotID("none")})
	if len(none.GetEntries()) != 0 {
		t.Fatalf("filter by an unknown id = %v", none)
	}
	_, err = c.ListSnapshots(ctx, &csi.ListSnapshotsRequest{StartingToken: "nope"})
	wantCode(t, err, codes.Aborted)

	for i := 0; i < 2; i++ {
		if _, err := c.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: s.GetSnapshotId()}); err != nil {
			t.Fatalf("DeleteSnapshot #%d: %v", i, err)
		}
	}
	_, err = c.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{})
	wantCode(t, err, codes.InvalidArgument)
}

func TestControllerExpandVolume(t *testing.T) {
	c, _, _ := newController(t)
	ctx := context.Background()
	vol, _ := c.CreateVolume(ctx, createReq("v", 8*mib, nil))
	id := vol.GetVolume().GetVolumeId()
	resp, err := c.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: id, CapacityRange: &csi.CapacityRange{RequiredBytes: 20 * mib}})
	if err != nil || resp.GetCapacityBytes() != 20*mib || !resp.GetNodeExpansionRequired() {
		t.Fatalf("expand = %v, %v", resp, err)
	}
	_, err = c.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: id})
	wantCode(t, err, codes.InvalidArgument)
	_, err = c.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{CapacityRange: &csi.CapacityRange{RequiredBytes: mib}})
	wantCode(t, err, codes.InvalidArgument)
	_, err = c.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: pool.VolumeID("x"), CapacityRange: &csi.CapacityRange{RequiredBytes: mib}})
	wantCode(t, err, codes.NotFound)
	_, err = c.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: id, CapacityRange: &csi.CapacityRange{RequiredBytes: 64 << 30}})
	wantCode(t, err, codes.ResourceExhausted)
}

// A snapshot the kernel dropped is not ReadyToUse, and restoring it is
// FailedPrecondition with a message that says why.
func TestInvalidSnapshotIsNotReadyToUse(t *testing.T) {
	c, l, _ := newController(t)
	ctx := context.Background()
	vol, err := c.CreateVolume(ctx, createReq("src", 8*mib, map[string]string{"provisioning": "thick"}))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "s", SourceVolumeId: vol.GetVolume().GetVolumeId()})
	if err != nil {
		t.Fatal(err)
	}
	id := snap.GetSnapshot().GetSnapshotId()
	if err := l.InvalidateSnapshot(id); err != nil {
		t.Fatal(err)
	}
	got, err := c.ListSnapshots(ctx, &csi.ListSnapshotsRequest{SnapshotId: id})
	if err != nil || len(got.GetEntries()) != 1 || got.GetEntries()[0].GetSnapshot().GetReadyToUse() {
		t.Fatalf("ListSnapshots of an invalid snapshot = %v, %v; want it not ReadyToUse", got, err)
	}
	req := createReq("restore", 8*mib, map[string]string{"provisioning": "thick"})
	req.VolumeContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: id}}}
	_, err = c.CreateVolume(ctx, req)
	wantCode(t, err, codes.FailedPrecondition)
	if !strings.Contains(err.Error(), "overflowed") {
		t.Fatalf("restore error %q does not say what happened", err)
	}
}
