package driver

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
)

func (s *nodeService) NodeGetVolumeStats(ctx context.Context, req *csi.NodeGetVolumeStatsRequest) (*csi.NodeGetVolumeStatsResponse, error) {
	id, p := req.GetVolumeId(), req.GetVolumePath()
	if err := required("volume_id", id, "volume_path", p); err != nil {
		return nil, err
	}
	if err := checkVolumeID(id); err != nil {
		return nil, err
	}
	if err := checkPath(s.cfg.KubeletDir, "volume_path", p); err != nil {
		// Not a path this plugin could have published the volume at: the
		// spec wants NotFound here, so the cause is quoted, not wrapped.
		return nil, fail(errUnknownObject, "no volume at %q: %v", p, err)
	}
	// The numbers of a filesystem that lost its disk or went read-only
	// would look fine: say what is wrong instead. First, since the volume
	// path of a filesystem shut down after I/O errors fails stat with EIO.
	if rec, err := s.records.load(id); err == nil && rec != nil {
		if err := s.checkStagingMount(id, rec.StagingPath, rec.ReadOnly); err != nil {
			return nil, err
		}
	}
	info, err := os.Stat(p)
	if err != nil {
		return nil, fail(errUnknownObject, "volume path %s: %w", p, err)
	}
	if !info.IsDir() {
		// A block volume: its size is the device's.
		size, err := blockDeviceSize(p)
		if err != nil {
			return nil, fmt.Errorf("reading the size of %s: %w", p, err)
		}
		return &csi.NodeGetVolumeStatsResponse{Usage: []*csi.VolumeUsage{{Unit: csi.VolumeUsage_BYTES, Total: int64(size)}}}, nil
	}
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return nil, fmt.Errorf("statfs %s: %w", p, err)
	}
	bs := int64(st.Bsize)
	return &csi.NodeGetVolumeStatsResponse{Usage: []*csi.VolumeUsage{
		{Unit: csi.VolumeUsage_BYTES, Total: int64(st.Blocks) * bs, Available: int64(st.Bavail) * bs, Used: int64(st.Blocks-st.Bfree) * bs},
		{Unit: csi.VolumeUsage_INODES, Total: int64(st.Files), Available: int64(st.Ffree), Used: int64(st.Files - st.Ffree)},
	}}, nil
}

// NodeGetVolumeHealth reports a staged volume whose iSCSI session or disk
// is gone as INACCESSIBLE (CSI 1.13's successor of VolumeCondition), and
// a staging mount that went bad (node_staging_mount.go) with what to do.
func (s *nodeService) NodeGetVolumeHealth(ctx context.Context, req *csi.NodeGetVolumeHealthRequest) (*csi.NodeGetVolumeHealthResponse, error) {
	id := req.GetVolumeId()
	if err := checkVolumeID(id); err != nil {
		return nil, err
	}
	for field, p := range map[string]string{"volume_publish_path": req.GetVolumePublishPath(), "staging_target_path": req.GetStagingTargetPath()} {
		if p != "" {
			if err := checkPath(s.cfg.KubeletDir, field, p); err != nil {
				return nil, err
			}
		}
	}
	health := &csi.VolumeHealth{VolumeId: id}
	if problem := s.healthProblem(ctx, id); problem != nil {
		health.HealthStatuses = []*csi.VolumeHealth_VolumeHealthEntry{problem}
	}
	return &csi.NodeGetVolumeHealthResponse{VolumeHealth: health}, nil
}

func (s *nodeService) healthProblem(ctx context.Context, id string) *csi.VolumeHealth_VolumeHealthEntry {
	inaccessible := func(reason, msg string) *csi.VolumeHealth_VolumeHealthEntry {
		return &csi.VolumeHealth_VolumeHealthEntry{Status: csi.VolumeHealthErrorType_INACCESSIBLE, Reason: reason, Message: msg}
	}
	rec, err := s.records.load(id)
	if err != nil || rec == nil {
		return inaccessible("NotStaged", "the volume is not staged on this node")
	}
	sessions, err := s.cfg.Initiator.Sessions(ctx)
	if err != nil {
		return inaccessible("SessionsUnknown", "cannot list iSCSI sessions: "+err.Error())
	}
	t := iscsi.Target{Portal: rec.Portal, IQN: rec.IQN, LUN: rec.LUN}
	if !hasSession(sessions, t) {
		return inaccessible("NoSession", "no iSCSI session to "+rec.IQN)
	}
	dev, err := s.cfg.Disks.WaitForDevice(ctx, t, time.Second)
	if err != nil {
		return inaccessible("NoDisk", "the disk of "+rec.IQN+" is gone: "+err.Error())
	}
	switch state, _ := s.cfg.Disks.State(dev); {
	case state == "blocked":
		return inaccessible("Reconnecting", fmt.Sprintf("the iSCSI session to %s is down and I/O to %s waits: it resumes when the session reconnects, or fails once the replacement timeout (%v) has passed; if the target is back and iscsid keeps logging 'can't bind conn', the session is stuck in open-iscsi before 2.1.9 (docs/troubleshooting.md): restarting iscsid recovers it without losing the disk", rec.IQN, dev, iscsi.ReplacementTimeout))
	case iscsi.Unreachable(state):
		return inaccessible("DiskOffline", fmt.Sprintf("%s is %s: the target %s has been unreachable for longer than the replacement timeout (or this node was fenced out of it), so every I/O fails until the session reconnects; if the target is back and this stays, delete the pods using the volume on this node: unstaging and staging it again logs in afresh", dev, state, rec.IQN))
	}
	// A block volume's staging path is no mount; a filesystem that is not
	// mounted (yet) has nothing more to check.
	m, err := s.readStagingMount(rec.StagingPath)
	if err != nil {
		return inaccessible("MountsUnknown", "cannot read the mount table: "+err.Error())
	}
	if !m.mounted() {
		return nil
	}
	if p := s.stagingProblem(m, dev, rec.ReadOnly); p != nil {
		msg := p.what
		if len(m.refs) > 0 {
			msg += "; " + remedy(m.refs)
		} else {
			msg += "; nothing but the staging mount uses it: the next NodeStageVolume mounts the volume's disk again"
		}
		return &csi.VolumeHealth_VolumeHealthEntry{Status: p.status, Reason: p.reason, Message: msg}
	}
	return nil
}

// blockDeviceSize reads a block device's size by seeking to its end.
func blockDeviceSize(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	return uint64(end), nil
}
