// Package lifecycle drives one volume through the CSI calls Kubernetes makes
// (create, controller publish, stage, publish, and back), against running
// plugin processes. The end-to-end tests and the demo both use it, so the
// sequence is written once.
package lifecycle

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// Driver is a connected controller and node plugin pair.
type Driver struct {
	Controller csi.ControllerClient
	Node       csi.NodeClient
	NodeID     string
	// Root is a directory below the node plugin's --kubelet-dir where
	// staging and target paths are made.
	Root string
	// Step, when set, is told about each call before it is made.
	Step func(format string, args ...any)

	conns []*grpc.ClientConn
}

// Connect dials both endpoints and asks the node for its id.
func Connect(ctx context.Context, controllerEndpoint, nodeEndpoint, root string) (*Driver, error) {
	d := &Driver{Root: root}
	for _, ep := range []string{controllerEndpoint, nodeEndpoint} {
		conn, err := grpc.NewClient(ep, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("connecting to %s: %w", ep, err)
		}
		d.conns = append(d.conns, conn)
	}
	d.Controller = csi.NewControllerClient(d.conns[0])
	d.Node = csi.NewNodeClient(d.conns[1])
	info, err := d.Node.NodeGetInfo(ctx, &csi.NodeGetInfoRequest{})
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("NodeGetInfo: %w", err)
	}
	d.NodeID = info.GetNodeId()
	return d, nil
}

// Close closes the connections.
func (d *Driver) Close() {
	for _, c := range d.conns {
		c.Close()
	}
}

func (d *Driver) step(format string, args ...any) {
	if d.Step != nil {
		d.Step(format, args...)
	}
}

// Volume is one volume and where it is on the node.
type Volume struct {
	Name           string
	ID             string
	Size           int64
	Capability     *csi.VolumeCapability
	VolumeContext  map[string]string // CreateVolume's, passed to stage and publish as kubelet does
	PublishContext map[string]string
	StagingPath    string
	TargetPath     string
}

// Block reports whether the volume is used as a raw block device.
func (v *Volume) Block() bool { return v.Capability.GetBlock() != nil }

// MountCapability is a single-node ext4 (or fsType) filesystem.
func MountCapability(fsType string) *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: fsType}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
	}
}

// BlockCapability is a single-node raw block device.
func BlockCapability() *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
	}
}

// Create makes a volume (CreateVolume).
func (d *Driver) Create(ctx context.Context, name string, size int64, params map[string]string, c *csi.VolumeCapability) (*Volume, error) {
	d.step("CreateVolume %q (%d MiB, parameters %v)", name, size>>20, params)
	resp, err := d.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name:               name,
		CapacityRange:      &csi.CapacityRange{RequiredBytes: size},
		VolumeCapabilities: []*csi.VolumeCapability{c},
		Parameters:         params,
	})
	if err != nil {
		return nil, fmt.Errorf("CreateVolume: %w", err)
	}
	v := &Volume{Name: name, ID: resp.GetVolume().GetVolumeId(), Size: resp.GetVolume().GetCapacityBytes(), Capability: c,
		VolumeContext: resp.GetVolume().GetVolumeContext()}
	v.StagingPath = filepath.Join(d.Root, "staging", v.ID)
	v.TargetPath = filepath.Join(d.Root, "pods", v.ID, "volume")
	return v, nil
}

// CreateFrom makes a volume with a content source: a snapshot id
// ("snap-...") or a volume id.
func (d *Driver) CreateFrom(ctx context.Context, name string, size int64, params map[string]string, c *csi.VolumeCapability, sourceID string) (*Volume, error) {
	src := &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: sourceID}}}
	if strings.HasPrefix(sourceID, "snap-") {
		src = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: sourceID}}}
	}
	d.step("CreateVolume %q from %s (%d MiB, parameters %v)", name, sourceID, size>>20, params)
	var resp *csi.CreateVolumeResponse
	var err error
	// A block copy outlives one call: Aborted means "still filling, retry".
	for {
		resp, err = d.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{
			Name: name, CapacityRange: &csi.CapacityRange{RequiredBytes: size},
			VolumeCapabilities: []*csi.VolumeCapability{c}, Parameters: params, VolumeContentSource: src,
		})
		if status.Code(err) != codes.Aborted || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Second)
	}
	if err != nil {
		return nil, fmt.Errorf("CreateVolume from %s: %w", sourceID, err)
	}
	v := &Volume{Name: name, ID: resp.GetVolume().GetVolumeId(), Size: resp.GetVolume().GetCapacityBytes(), Capability: c,
		VolumeContext: resp.GetVolume().GetVolumeContext()}
	v.StagingPath = filepath.Join(d.Root, "staging", v.ID)
	v.TargetPath = filepath.Join(d.Root, "pods", v.ID, "volume")
	return v, nil
}

// Snapshot takes a snapshot of the volume (CreateSnapshot).
func (d *Driver) Snapshot(ctx context.Context, name string, v *Volume) (string, error) {
	d.step("CreateSnapshot %q of %s", name, v.ID)
	resp, err := d.Controller.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: name, SourceVolumeId: v.ID})
	if err != nil {
		return "", fmt.Errorf("CreateSnapshot: %w", err)
	}
	return resp.GetSnapshot().GetSnapshotId(), nil
}

// DeleteSnapshot removes a snapshot.
func (d *Driver) DeleteSnapshot(ctx context.Context, id string) error {
	d.step("DeleteSnapshot %s", id)
	_, err := d.Controller.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: id})
	return err
}

// Expand grows the volume (ControllerExpandVolume, then NodeExpandVolume on
// its published path) and returns the size the node reports.
func (d *Driver) Expand(ctx context.Context, v *Volume, size int64) (int64, error) {
	d.step("ControllerExpandVolume %s to %d MiB", v.ID, size>>20)
	cresp, err := d.Controller.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{
		VolumeId: v.ID, CapacityRange: &csi.CapacityRange{RequiredBytes: size}, VolumeCapability: v.Capability,
	})
	if err != nil {
		return 0, fmt.Errorf("ControllerExpandVolume: %w", err)
	}
	d.step("NodeExpandVolume %s at %s", v.ID, v.TargetPath)
	nresp, err := d.Node.NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{
		VolumeId: v.ID, VolumePath: v.TargetPath, StagingTargetPath: v.StagingPath, VolumeCapability: v.Capability,
		CapacityRange: &csi.CapacityRange{RequiredBytes: cresp.GetCapacityBytes()},
	})
	if err != nil {
		return 0, fmt.Errorf("NodeExpandVolume: %w", err)
	}
	v.Size = nresp.GetCapacityBytes()
	return v.Size, nil
}

// ControllerPublish lets this node log in (ControllerPublishVolume).
func (d *Driver) ControllerPublish(ctx context.Context, v *Volume) error {
	d.step("ControllerPublishVolume %s to node %s", v.ID, d.NodeID)
	resp, err := d.Controller.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{
		VolumeId: v.ID, NodeId: d.NodeID, VolumeCapability: v.Capability,
	})
	if err != nil {
		return fmt.Errorf("ControllerPublishVolume: %w", err)
	}
	v.PublishContext = resp.GetPublishContext()
	return nil
}

// Stage logs in and formats/mounts (NodeStageVolume).
func (d *Driver) Stage(ctx context.Context, v *Volume) error {
	d.step("NodeStageVolume %s at %s", v.ID, v.StagingPath)
	if err := os.MkdirAll(v.StagingPath, 0o750); err != nil {
		return err
	}
	_, err := d.Node.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{
		VolumeId: v.ID, StagingTargetPath: v.StagingPath, VolumeCapability: v.Capability, PublishContext: v.PublishContext,
		VolumeContext: v.VolumeContext,
	})
	if err != nil {
		return fmt.Errorf("NodeStageVolume: %w", err)
	}
	return nil
}

// Publish makes the volume visible at its target path (NodePublishVolume).
func (d *Driver) Publish(ctx context.Context, v *Volume) error {
	d.step("NodePublishVolume %s at %s", v.ID, v.TargetPath)
	if err := os.MkdirAll(filepath.Dir(v.TargetPath), 0o750); err != nil {
		return err
	}
	_, err := d.Node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{
		VolumeId: v.ID, StagingTargetPath: v.StagingPath, TargetPath: v.TargetPath,
		VolumeCapability: v.Capability, PublishContext: v.PublishContext, VolumeContext: v.VolumeContext,
	})
	if err != nil {
		return fmt.Errorf("NodePublishVolume: %w", err)
	}
	return nil
}

// Up runs ControllerPublish, Stage and Publish.
func (d *Driver) Up(ctx context.Context, v *Volume) error {
	if err := d.ControllerPublish(ctx, v); err != nil {
		return err
	}
	if err := d.Stage(ctx, v); err != nil {
		return err
	}
	return d.Publish(ctx, v)
}

// Unpublish removes the target path (NodeUnpublishVolume).
func (d *Driver) Unpublish(ctx context.Context, v *Volume) error {
	d.step("NodeUnpublishVolume %s from %s", v.ID, v.TargetPath)
	_, err := d.Node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: v.ID, TargetPath: v.TargetPath})
	if err != nil {
		return fmt.Errorf("NodeUnpublishVolume: %w", err)
	}
	return nil
}

// Unstage unmounts and logs out (NodeUnstageVolume).
func (d *Driver) Unstage(ctx context.Context, v *Volume) error {
	d.step("NodeUnstageVolume %s from %s", v.ID, v.StagingPath)
	_, err := d.Node.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: v.ID, StagingTargetPath: v.StagingPath})
	if err != nil {
		return fmt.Errorf("NodeUnstageVolume: %w", err)
	}
	return nil
}

// ControllerUnpublish fences this node out (ControllerUnpublishVolume).
func (d *Driver) ControllerUnpublish(ctx context.Context, v *Volume) error {
	d.step("ControllerUnpublishVolume %s from node %s", v.ID, d.NodeID)
	_, err := d.Controller.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: v.ID, NodeId: d.NodeID})
	if err != nil {
		return fmt.Errorf("ControllerUnpublishVolume: %w", err)
	}
	return nil
}

// Down runs Unpublish, Unstage and ControllerUnpublish.
func (d *Driver) Down(ctx context.Context, v *Volume) error {
	if err := d.Unpublish(ctx, v); err != nil {
		return err
	}
	if err := d.Unstage(ctx, v); err != nil {
		return err
	}
	return d.ControllerUnpublish(ctx, v)
}

// Delete removes the volume (DeleteVolume).
func (d *Driver) Delete(ctx context.Context, v *Volume) error {
	d.step("DeleteVolume %s", v.ID)
	if _, err := d.Controller.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: v.ID}); err != nil {
		return fmt.Errorf("DeleteVolume: %w", err)
	}
	return nil
}

// DataPath is where test data lives on the published volume: a file in the
// filesystem, or the device node itself for a block volume.
func (v *Volume) DataPath() string {
	if v.Block() {
		return v.TargetPath
	}
	return filepath.Join(v.TargetPath, "data")
}
