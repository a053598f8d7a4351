//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

// The walk's volumes: small, so that formats, copies and wipes stay short
// under emulation (four extents; ext4 fits).
const (
	kpSize      = 16 << 20
	kpGrownSize = 32 << 20
	kpPattern   = 1 << 20 // bytes of data written before and read after
)

// The ids the driver derives from names (docs/design.md, "Identity"),
// spelled out so the walk can name what a crashed call may have made.
func volumeIDOf(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "csi-" + hex.EncodeToString(sum[:])[:28]
}

func snapshotIDOf(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "snap-" + hex.EncodeToString(sum[:])[:27]
}

func capabilityOf(block bool) *csi.VolumeCapability {
	if block {
		return lifecycle.BlockCapability()
	}
	return lifecycle.MountCapability("ext4")
}

func createRequest(name string, size int64, prov string, block bool, source string) *csi.CreateVolumeRequest {
	req := &csi.CreateVolumeRequest{
		Name: name, CapacityRange: &csi.CapacityRange{RequiredBytes: size},
		VolumeCapabilities: []*csi.VolumeCapability{capabilityOf(block)},
		Parameters:         map[string]string{"provisioning": prov},
	}
	switch {
	case strings.HasPrefix(source, "snap-"):
		req.VolumeContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: source}}}
	case source != "":
		req.VolumeContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: source}}}
	}
	return req
}

// untilDone repeats a call while it answers Aborted (a fill or a delete
// still running), as a CO would.
func untilDone(ctx context.Context, call func() error) error {
	for {
		err := call()
		if status.Code(err) != codes.Aborted || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Second)
	}
}

func createVolume(ctx context.Context, c clients, req *csi.CreateVolumeRequest) (*csi.Volume, error) {
	var v *csi.Volume
	err := untilDone(ctx, func() error {
		resp, err := c.ctrl.CreateVolume(ctx, req)
		v = resp.GetVolume()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("CreateVolume %s: %w", req.Name, err)
	}
	return v, nil
}

func deleteVolume(ctx context.Context, c clients, id string) error {
	err := untilDone(ctx, func() error {
		_, err := c.ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id})
		return err
	})
	if err != nil {
		return fmt.Errorf("DeleteVolume %s: %w", id, err)
	}
	return nil
}

func (e *kpEnv) publish(ctx context.Context, c clients, id string, block bool) (map[string]string, error) {
	resp, err := c.ctrl.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: e.nodeID, VolumeCapability: capabilityOf(block)})
	if err != nil {
		return nil, fmt.Errorf("ControllerPublishVolume %s: %w", id, err)
	}
	return resp.GetPublishContext(), nil
}

func (e *kpEnv) unpublish(ctx context.Context, c clients, id string) error {
	if _, err := c.ctrl.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: id, NodeId: e.nodeID}); err != nil {
		return fmt.Errorf("ControllerUnpublishVolume %s: %w", id, err)
	}
	return nil
}

// staged is a volume as the node plugin is given it.
type staged struct {
	id, staging, target string
	block               bool
	publishContext      map[string]string
	volumeContext       map[string]string
}

func newStaged(name string, block bool) *staged {
	dir := filepath.Join(*root, "kp", name)
	return &staged{id: volumeIDOf(name), staging: filepath.Join(dir, "staging"), target: filepath.Join(dir, "target"), block: block}
}

func (s *staged) stageRequest() *csi.NodeStageVolumeRequest {
	return &csi.NodeStageVolumeRequest{VolumeId: s.id, StagingTargetPath: s.staging, VolumeCapability: capabilityOf(s.block),
		PublishContext: s.publishContext, VolumeContext: s.volumeContext}
}

func (s *staged) stage(ctx context.Context, c clients, opts ...grpc.CallOption) error {
	if err := os.MkdirAll(s.staging, 0o750); err != nil {
		return err
	}
	if _, err := c.node.NodeStageVolume(ctx, s.stageRequest(), opts...); err != nil {
		return fmt.Errorf("NodeStageVolume %s: %w", s.id, err)
	}
	return nil
}

func (s *staged) unstage(ctx context.Context, c clients, opts ...grpc.CallOption) error {
	if _, err := c.node.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: s.id, StagingTargetPath: s.staging}, opts...); err != nil {
		return fmt.Errorf("NodeUnstageVolume %s: %w", s.id, err)
	}
	return nil
}

// makeStaged creates, publishes and stages a volume (and, with target,
// publishes it on the node).
func (e *kpEnv) makeStaged(ctx context.Context, c clients, name string, s *staged, target bool) error {
	v, err := createVolume(ctx, c, createRequest(name, kpSize, "thin", s.block, ""))
	if err != nil {
		return err
	}
	s.volumeContext = v.GetVolumeContext()
	if s.publishContext, err = e.publish(ctx, c, s.id, s.block); err != nil {
		return err
	}
	if err := s.stage(ctx, c); err != nil {
		return err
	}
	if !target {
		return nil
	}
	if err := os.MkdirAll(s.target, 0o750); err != nil {
		return err
	}
	_, err = c.node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: s.id, StagingTargetPath: s.staging, TargetPath: s.target,
		VolumeCapability: capabilityOf(s.block), PublishContext: s.publishContext, VolumeContext: s.volumeContext})
	if err != nil {
		return fmt.Errorf("NodePublishVolume %s: %w", s.id, err)
	}
	return nil
}

// dropStaged undoes makeStaged and deletes the volume.
func (e *kpEnv) dropStaged(ctx context.Context, c clients, s *staged) error {
	if _, err := c.node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: s.id, TargetPath: s.target}); err != nil {
		return fmt.Errorf("NodeUnpublishVolume %s: %w", s.id, err)
	}
	if err := s.unstage(ctx, c); err != nil {
		return err
	}
	if err := e.unpublish(ctx, c, s.id); err != nil {
		return err
	}
	return deleteVolume(ctx, c, s.id)
}

func lvDevice(id string) string { return "/dev/" + *volumeGroup + "/" + id }

// diskOf is the node's disk of a staged volume.
func (s *staged) disk() string {
	return "/dev/disk/by-path/ip-" + s.publishContext["portal"] + "-iscsi-" + s.publishContext["iqn"] + "-lun-1"
}

// writeDevice and readDevice bypass the page cache (direct I/O), so what
// is read is what the device holds, whoever wrote it. fullblock: dd reads
// its stdin, a pipe, until it has the whole block.
func writeDevice(ctx context.Context, dev string, data []byte) error {
	cmd := exec.CommandContext(ctx, "dd", "of="+dev, "bs=1M", "count=1", "iflag=fullblock", "oflag=direct", "conv=fsync,notrunc", "status=none")
	cmd.Stdin = bytes.NewReader(data)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("writing %s: %v: %s", dev, err, out)
	}
	return nil
}

func readDevice(ctx context.Context, dev string, offset int64) ([]byte, error) {
	out, _, err := output(ctx, "dd", "if="+dev, "bs=1M", "count=1", "skip="+strconv.FormatInt(offset, 10), "iflag=direct,skip_bytes", "status=none")
	if err != nil {
		return nil, err
	}
	return []byte(out), nil
}

func (e *kpEnv) expectPattern(ctx context.Context, dev string) error {
	got, err := readDevice(ctx, dev, 0)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, e.pattern) {
		return fmt.Errorf("%s does not hold the data written before the call", dev)
	}
	return nil
}

// extentOf says where an LV's first byte is on its physical volume, to
// check after its removal that its data was wiped there.
func extentOf(ctx context.Context, id string) (pv string, offset int64, err error) {
	out, _, err := output(ctx, "lvs", lvmNoISCSI, "--noheadings", "-o", "seg_pe_ranges", *volumeGroup+"/"+id)
	if err != nil {
		return "", 0, err
	}
	pv, ranges, ok := strings.Cut(strings.Fields(out)[0], ":")
	first, _, _ := strings.Cut(ranges, "-")
	pe, perr := strconv.ParseInt(first, 10, 64)
	if !ok || perr != nil {
		return "", 0, fmt.Errorf("seg_pe_ranges of %s: %q", id, out)
	}
	peStart, _, err := output(ctx, "pvs", "--noheadings", "--units", "b", "--nosuffix", "-o", "pe_start", pv)
	if err != nil {
		return "", 0, err
	}
	extent, _, err := output(ctx, "vgs", "--noheadings", "--units", "b", "--nosuffix", "-o", "vg_extent_size", *volumeGroup)
	if err != nil {
		return "", 0, err
	}
	start, err1 := strconv.ParseInt(strings.TrimSpace(peStart), 10, 64)
	size, err2 := strconv.ParseInt(strings.TrimSpace(extent), 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, fmt.Errorf("pe_start %q, extent size %q", peStart, extent)
	}
	return pv, start + pe*size, nil
}

// The sources the create walks copy from: a thin and a thick volume with
// the pattern, and a snapshot of each.
const (
	srcThin      = "kp-src-thin"
	srcThick     = "kp-src-thick"
	srcThinSnap  = "kp-src-thin-snap"
	srcThickSnap = "kp-src-thick-snap"
)

func (e *kpEnv) setup(t *testing.T) {
	// The sample copies from the thin source only (CreateVolume/snapshot-thin).
	sources := []struct{ volume, prov, snapshot string }{{srcThin, "thin", srcThinSnap}}
	if *killPointSet != "sample" {
		sources = append(sources, struct{ volume, prov, snapshot string }{srcThick, "thick", srcThickSnap})
	}
	e.pattern = make([]byte, kpPattern)
	rand.Read(e.pattern)
	err := e.step(func(ctx context.Context, c clients) error {
		info, err := c.node.NodeGetInfo(ctx, &csi.NodeGetInfoRequest{})
		if err != nil {
			return err
		}
		e.nodeID = info.GetNodeId()
		for _, src := range sources {
			v, err := createVolume(ctx, c, createRequest(src.volume, kpSize, src.prov, true, ""))
			if err != nil {
				return err
			}
			if err := writeDevice(ctx, lvDevice(v.GetVolumeId()), e.pattern); err != nil {
				return err
			}
			if _, err := c.ctrl.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: src.snapshot, SourceVolumeId: v.GetVolumeId()}); err != nil {
				return fmt.Errorf("CreateSnapshot %s: %w", src.snapshot, err)
			}
		}
		// The first publication makes the CHAP key's LV (lic-chap-key),
		// which stays: made here, it is part of every walk's world, not
		// an extra LV left by the first walk that publishes.
		if _, err := e.publish(ctx, c, volumeIDOf(srcThin), true); err != nil {
			return err
		}
		return e.unpublish(ctx, c, volumeIDOf(srcThin))
	})
	t.Cleanup(func() {
		err := e.step(func(ctx context.Context, c clients) error {
			for _, src := range sources {
				if _, err := c.ctrl.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: snapshotIDOf(src.snapshot)}); err != nil {
					return err
				}
			}
			for _, src := range sources {
				if err := deleteVolume(ctx, c, volumeIDOf(src.volume)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Errorf("removing the walk's sources: %v", err)
		}
	})
	if err != nil {
		t.Fatalf("making the walk's sources: %v", err)
	}
}

// walks lists every RPC walked, in order.
func (e *kpEnv) walks() []walk {
	var ws []walk
	ws = append(ws, e.createWalks()...)
	ws = append(ws, e.deleteWalk(), e.publishWalk(), e.unpublishWalk(), e.expandWalk(), e.snapshotWalk(), e.deleteSnapshotWalk())
	ws = append(ws, e.stageWalk(false), e.stageWalk(true), e.unstageWalk(), e.nodeExpandWalk())
	return ws
}

// createWalks: CreateVolume empty, from a snapshot and from a volume,
// thin and thick. The data of a filled volume must be its source's.
func (e *kpEnv) createWalks() []walk {
	var ws []walk
	for _, tc := range []struct{ name, prov, source string }{
		{"empty-thin", "thin", ""},
		{"empty-thick", "thick", ""},
		{"snapshot-thin", "thin", snapshotIDOf(srcThinSnap)},
		{"snapshot-thick", "thick", snapshotIDOf(srcThickSnap)},
		{"clone-thin", "thin", volumeIDOf(srcThin)},
		{"clone-thick", "thick", volumeIDOf(srcThick)},
	} {
		name := "kp-create-" + tc.name
		req := createRequest(name, kpSize, tc.prov, true, tc.source)
		w := walk{
			name: "CreateVolume/" + tc.name,
			proc: e.ctrl,
			call: func(ctx context.Context, c clients, opts ...grpc.CallOption) error {
				_, err := c.ctrl.CreateVolume(ctx, req, opts...)
				return err
			},
			undo: func(ctx context.Context, c clients) error { return deleteVolume(ctx, c, volumeIDOf(name)) },
		}
		if tc.source != "" {
			w.verify = func(ctx context.Context, c clients) error { return e.expectPattern(ctx, lvDevice(volumeIDOf(name))) }
		}
		ws = append(ws, w)
	}
	return ws
}

// deleteWalk: DeleteVolume of a thick volume that holds data: after the
// call its extents read zeros. (CHAP credentials are derived, not stored,
// so a volume that was published leaves nothing else to forget.)
func (e *kpEnv) deleteWalk() walk {
	const name = "kp-delete"
	id := volumeIDOf(name)
	var pv string
	var offset int64
	return walk{
		name: "DeleteVolume/thick-wipe",
		proc: e.ctrl,
		prepare: func(ctx context.Context, c clients) error {
			if _, err := createVolume(ctx, c, createRequest(name, kpSize, "thick", true, "")); err != nil {
				return err
			}
			if err := writeDevice(ctx, lvDevice(id), e.pattern); err != nil {
				return err
			}
			var err error
			pv, offset, err = extentOf(ctx, id)
			return err
		},
		call: func(ctx context.Context, c clients, opts ...grpc.CallOption) error {
			_, err := c.ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id}, opts...)
			return err
		},
		verify: func(ctx context.Context, c clients) error {
			got, err := readDevice(ctx, pv, offset)
			if err != nil {
				return err
			}
			if !bytes.Equal(got, make([]byte, len(got))) {
				return fmt.Errorf("the deleted volume's first extent (%s at %d) was not zeroed", pv, offset)
			}
			return nil
		},
	}
}

func (e *kpEnv) publishWalk() walk {
	const name = "kp-publish"
	id := volumeIDOf(name)
	return walk{
		name: "ControllerPublishVolume",
		proc: e.ctrl,
		setup: func(ctx context.Context, c clients) error {
			_, err := createVolume(ctx, c, createRequest(name, kpSize, "thin", true, ""))
			return err
		},
		call: func(ctx context.Context, c clients, opts ...grpc.CallOption) error {
			_, err := c.ctrl.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: e.nodeID, VolumeCapability: capabilityOf(true)}, opts...)
			return err
		},
		undo:     func(ctx context.Context, c clients) error { return e.unpublish(ctx, c, id) },
		teardown: func(ctx context.Context, c clients) error { return deleteVolume(ctx, c, id) },
	}
}

func (e *kpEnv) unpublishWalk() walk {
	const name = "kp-unpublish"
	id := volumeIDOf(name)
	return walk{
		name: "ControllerUnpublishVolume",
		proc: e.ctrl,
		setup: func(ctx context.Context, c clients) error {
			_, err := createVolume(ctx, c, createRequest(name, kpSize, "thin", true, ""))
			return err
		},
		prepare: func(ctx context.Context, c clients) error {
			_, err := e.publish(ctx, c, id, true)
			return err
		},
		call: func(ctx context.Context, c clients, opts ...grpc.CallOption) error {
			_, err := c.ctrl.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: id, NodeId: e.nodeID}, opts...)
			return err
		},
		teardown: func(ctx context.Context, c clients) error { return deleteVolume(ctx, c, id) },
	}
}

// expandWalk: ControllerExpandVolume of a published volume with data: the
// LV and tgtd's LUN grow, the data stays.
func (e *kpEnv) expandWalk() walk {
	const name = "kp-expand"
	id := volumeIDOf(name)
	return walk{
		name: "ControllerExpandVolume",
		proc: e.ctrl,
		prepare: func(ctx context.Context, c clients) error {
			if _, err := createVolume(ctx, c, createRequest(name, kpSize, "thin", true, "")); err != nil {
				return err
			}
			if err := writeDevice(ctx, lvDevice(id), e.pattern); err != nil {
				return err
			}
			_, err := e.publish(ctx, c, id, true)
			return err
		},
		call: func(ctx context.Context, c clients, opts ...grpc.CallOption) error {
			_, err := c.ctrl.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: id,
				CapacityRange: &csi.CapacityRange{RequiredBytes: kpGrownSize}, VolumeCapability: capabilityOf(true)}, opts...)
			return err
		},
		verify: func(ctx context.Context, c clients) error { return e.expectPattern(ctx, lvDevice(id)) },
		undo: func(ctx context.Context, c clients) error {
			if err := e.unpublish(ctx, c, id); err != nil {
				return err
			}
			return deleteVolume(ctx, c, id)
		},
	}
}

// snapshotWalk: CreateSnapshot of the thin source; the snapshot holds its
// data.
func (e *kpEnv) snapshotWalk() walk {
	const name = "kp-snap"
	id := snapshotIDOf(name)
	return walk{
		name: "CreateSnapshot",
		proc: e.ctrl,
		call: func(ctx context.Context, c clients, opts ...grpc.CallOption) error {
			_, err := c.ctrl.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: name, SourceVolumeId: volumeIDOf(srcThin)}, opts...)
			return err
		},
		verify: func(ctx context.Context, c clients) error {
			// A thin snapshot is inactive (activation skip) until asked.
			if _, _, err := output(ctx, "lvchange", "-ay", "-K", *volumeGroup+"/"+id); err != nil {
				return err
			}
			return e.expectPattern(ctx, lvDevice(id))
		},
		undo: func(ctx context.Context, c clients) error {
			_, err := c.ctrl.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: id})
			return err
		},
	}
}

func (e *kpEnv) deleteSnapshotWalk() walk {
	const name = "kp-delsnap"
	id := snapshotIDOf(name)
	return walk{
		name: "DeleteSnapshot",
		proc: e.ctrl,
		prepare: func(ctx context.Context, c clients) error {
			_, err := c.ctrl.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: name, SourceVolumeId: volumeIDOf(srcThin)})
			return err
		},
		call: func(ctx context.Context, c clients, opts ...grpc.CallOption) error {
			_, err := c.ctrl.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: id}, opts...)
			return err
		},
	}
}

// stageWalk: NodeStageVolume of a new volume: formatted and mounted
// (mount), or the pattern written on the storage host read through the
// iSCSI disk (block).
func (e *kpEnv) stageWalk(block bool) walk {
	kind := map[bool]string{false: "mount", true: "block"}[block]
	name := "kp-stage-" + kind
	s := newStaged(name, block)
	w := walk{
		name: "NodeStageVolume/" + kind,
		proc: e.node,
		// The volume is made and published once; each stage starts from
		// a disk without a filesystem (undo zeroes the one it made).
		setup: func(ctx context.Context, c clients) error {
			v, err := createVolume(ctx, c, createRequest(name, kpSize, "thin", block, ""))
			if err != nil {
				return err
			}
			s.volumeContext = v.GetVolumeContext()
			if block {
				if err := writeDevice(ctx, lvDevice(s.id), e.pattern); err != nil {
					return err
				}
			}
			s.publishContext, err = e.publish(ctx, c, s.id, block)
			return err
		},
		call: func(ctx context.Context, c clients, opts ...grpc.CallOption) error { return s.stage(ctx, c, opts...) },
		undo: func(ctx context.Context, c clients) error {
			if err := s.unstage(ctx, c); err != nil {
				return err
			}
			if block {
				return nil
			}
			// The superblock goes (it is in the first MiB), so the next
			// stage formats again, as the first one did.
			return writeDevice(ctx, lvDevice(s.id), make([]byte, kpPattern))
		},
		teardown: func(ctx context.Context, c clients) error {
			if err := e.unpublish(ctx, c, s.id); err != nil {
				return err
			}
			return deleteVolume(ctx, c, s.id)
		},
	}
	if block {
		w.verify = func(ctx context.Context, c clients) error { return e.expectPattern(ctx, s.disk()) }
	} else {
		w.verify = func(ctx context.Context, c clients) error {
			// The new filesystem takes a file and gives it back.
			path := filepath.Join(s.staging, "data")
			if err := os.WriteFile(path, e.pattern, 0o600); err != nil {
				return err
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, e.pattern) {
				return fmt.Errorf("the staged filesystem does not give back a file written to it (%v)", err)
			}
			return os.Remove(path)
		}
	}
	return w
}

// unstageWalk: NodeUnstageVolume of a mounted filesystem holding a file:
// afterwards the filesystem on the LV is clean, and the file is there at
// the next stage.
func (e *kpEnv) unstageWalk() walk {
	const name = "kp-unstage"
	s := newStaged(name, false)
	file := filepath.Join(s.staging, "data")
	restage := func(ctx context.Context, c clients) error {
		if err := s.stage(ctx, c); err != nil {
			return err
		}
		got, err := os.ReadFile(file)
		if err != nil || !bytes.Equal(got, e.pattern) {
			return fmt.Errorf("the file written before the last unstage is not there after staging again (%v)", err)
		}
		return nil
	}
	return walk{
		name: "NodeUnstageVolume",
		proc: e.node,
		// A published volume with a file on its filesystem, not staged.
		setup: func(ctx context.Context, c clients) error {
			if err := e.makeStaged(ctx, c, name, s, false); err != nil {
				return err
			}
			if err := os.WriteFile(file, e.pattern, 0o600); err != nil {
				return err
			}
			return s.unstage(ctx, c)
		},
		prepare: restage,
		call: func(ctx context.Context, c clients, opts ...grpc.CallOption) error {
			return s.unstage(ctx, c, opts...)
		},
		verify: func(ctx context.Context, c clients) error {
			dev := lvDevice(s.id)
			// Read the LV, not what this host cached of it earlier.
			if _, _, err := output(ctx, "blockdev", "--flushbufs", dev); err != nil {
				return err
			}
			if out, _, err := output(ctx, "e2fsck", "-fn", dev); err != nil {
				return fmt.Errorf("the unstaged filesystem is not clean: %v\n%s", err, out)
			}
			return nil
		},
		teardown: func(ctx context.Context, c clients) error {
			if err := restage(ctx, c); err != nil {
				return err
			}
			return e.dropStaged(ctx, c, s)
		},
	}
}

// nodeExpandWalk: NodeExpandVolume after the controller grew the volume:
// the mounted filesystem grows, its file stays.
func (e *kpEnv) nodeExpandWalk() walk {
	const name = "kp-node-expand"
	s := newStaged(name, false)
	file := filepath.Join(s.target, "data")
	return walk{
		name: "NodeExpandVolume",
		proc: e.node,
		prepare: func(ctx context.Context, c clients) error {
			if err := e.makeStaged(ctx, c, name, s, true); err != nil {
				return err
			}
			if err := os.WriteFile(file, e.pattern, 0o600); err != nil {
				return err
			}
			_, err := c.ctrl.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: s.id,
				CapacityRange: &csi.CapacityRange{RequiredBytes: kpGrownSize}, VolumeCapability: capabilityOf(false)})
			return err
		},
		call: func(ctx context.Context, c clients, opts ...grpc.CallOption) error {
			_, err := c.node.NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{VolumeId: s.id, VolumePath: s.target, StagingTargetPath: s.staging,
				VolumeCapability: capabilityOf(false), CapacityRange: &csi.CapacityRange{RequiredBytes: kpGrownSize}}, opts...)
			return err
		},
		verify: func(ctx context.Context, c clients) error {
			var fs unix.Statfs_t
			if err := unix.Statfs(s.target, &fs); err != nil {
				return err
			}
			if size := int64(fs.Blocks) * fs.Bsize; size < (kpSize+kpGrownSize)/2 {
				return fmt.Errorf("the filesystem is %d bytes after NodeExpandVolume to %d", size, kpGrownSize)
			}
			got, err := os.ReadFile(file)
			if err != nil || !bytes.Equal(got, e.pattern) {
				return fmt.Errorf("the file written before the expansion is not intact (%v)", err)
			}
			return nil
		},
		undo: func(ctx context.Context, c clients) error { return e.dropStaged(ctx, c, s) },
	}
}
