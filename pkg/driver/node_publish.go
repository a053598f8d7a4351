package driver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"k8s.io/mount-utils"
)

func (s *nodeService) NodePublishVolume(ctx context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	id, staging, target := req.GetVolumeId(), req.GetStagingTargetPath(), req.GetTargetPath()
	c := req.GetVolumeCapability()
	if err := s.check(volumeCall{id: id, capability: c, capabilityRequired: true, paths: []string{"staging_target_path", staging, "target_path", target}}); err != nil {
		return nil, err
	}
	if err := noSecrets(req.GetSecrets()); err != nil {
		return nil, err
	}
	opts := []string{"bind"}
	if req.GetReadonly() {
		opts = append(opts, "ro")
	}
	// The target is a file for a block volume (the device is bind-mounted
	// onto it) and a directory for a filesystem.
	var source string
	makeTarget := makeDir
	if c.GetBlock() != nil {
		makeTarget = makeFile
		t, err := targetFrom(id, req.GetPublishContext())
		if err != nil {
			return nil, err
		}
		if source, err = s.cfg.Disks.WaitForDevice(ctx, t, 5*time.Second); err != nil {
			return nil, fail(errNotStaged, "volume %s is not staged on this node: %w", id, err)
		}
		if err := s.cfg.Disks.VerifySerial(source, id); err != nil {
			return nil, err
		}
	} else {
		// The mount table, not a stat: a broken staging mount may answer
		// stat with EIO, and is to be reported as broken, not as missing.
		m, err := s.readStagingMount(staging)
		if err != nil {
			return nil, err
		}
		if !m.mounted() {
			return nil, fail(errNotStaged, "volume %s is not staged at %s", id, staging)
		}
		// A bind mount of a broken staging mount would hand the pod a
		// filesystem that cannot reach the volume (node_staging_mount.go).
		if p := s.stagingProblem(m, "", hasReadOnly(c.GetMount().GetMountFlags())); p != nil {
			return nil, p.brokenError(id, m.refs)
		}
		source = staging
		opts = append(opts, c.GetMount().GetMountFlags()...)
	}
	// Checked before the target is created, so a refused call leaves
	// nothing behind.
	if c.GetAccessMode().GetMode() == csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER {
		if err := s.checkSingleWriter(source, target); err != nil {
			return nil, err
		}
	}
	if err := makeTarget(target); err != nil {
		return nil, fmt.Errorf("creating %s: %w", target, err)
	}
	notMnt, err := s.cfg.Mounter.IsLikelyNotMountPoint(target)
	if err != nil {
		return nil, fmt.Errorf("checking %s: %w", target, err)
	}
	if !notMnt {
		return &csi.NodePublishVolumeResponse{}, nil // published before: a retry
	}
	if err := s.cfg.Mounter.Mount(source, target, "", opts); err != nil {
		return nil, fmt.Errorf("bind-mounting %s at %s: %w", source, target, err)
	}
	return &csi.NodePublishVolumeResponse{}, nil
}

// checkSingleWriter refuses a second publication of a single-writer volume:
// any other mount of the same source (besides the staging mount itself)
// is a workload already using it.
func (s *nodeService) checkSingleWriter(source, target string) error {
	refs, err := s.cfg.Mounter.GetMountRefs(source)
	if err != nil {
		return fmt.Errorf("listing the mounts of %s: %w", source, err)
	}
	for _, ref := range refs {
		if ref != target && ref != source {
			return fail(errSingleWriter, "single-writer volume is already published at %s", ref)
		}
	}
	return nil
}

func makeDir(path string) error { return os.MkdirAll(path, 0o750) }

func makeFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o640)
	if err != nil {
		return err
	}
	return f.Close()
}

func (s *nodeService) NodeUnpublishVolume(ctx context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	id, target := req.GetVolumeId(), req.GetTargetPath()
	if err := s.check(volumeCall{id: id, paths: []string{"target_path", target}}); err != nil {
		return nil, err
	}
	if err := mount.CleanupMountPoint(target, s.cfg.Mounter, true); err != nil {
		return nil, fmt.Errorf("unmounting %s: %w", target, err)
	}
	return &csi.NodeUnpublishVolumeResponse{}, nil
}
