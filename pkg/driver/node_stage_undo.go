package driver

import (
	"context"

	"k8s.io/klog/v2"
	"k8s.io/mount-utils"
)

// undoStage takes back what a NodeStageVolume that failed with cause, an
// error kubelet takes as final, set up: after a final error kubelet does
// not call NodeUnstageVolume (finalForKubelet), so this is the last
// chance. It unmounts the staging path when the volume's filesystem is
// mounted there, removes the disk, logs out, deletes the iscsiadm node
// record (which holds the CHAP secret) and the stage record, and returns
// cause.
//
// What it cannot take back, it leaves, and then answers errStillStaged
// (not final) instead, so that kubelet keeps the volume as possibly staged
// and calls NodeUnstageVolume later: a clean-up step that failed, or a
// staging mount that pods' bind mounts use (kubelet restarted and staged
// again a volume in use: its pods must not lose their disk).
func (s *nodeService) undoStage(ctx context.Context, id, staging string, cause error) error {
	left := func(format string, args ...any) error {
		err := fail(errStillStaged, "%w; the volume is left staged on this node: "+format, append([]any{cause}, args...)...)
		klog.ErrorS(err, "Could not undo a failed stage", "volumeID", id)
		return err
	}
	m, err := s.readStagingMount(staging)
	if err != nil {
		return left("%v", err)
	}
	if m.mounted() {
		if len(m.refs) > 0 {
			return left("%s", remedy(m.refs))
		}
		// Another volume's disk mounted there (errPathInUse) is not ours
		// to unmount.
		if s.isVolumeDisk(m.source, id) {
			if err := mount.CleanupMountPoint(staging, s.cfg.Mounter, true); err != nil {
				return left("unmounting %s: %v", staging, err)
			}
		}
	}
	if err := s.detach(ctx, id); err != nil {
		return left("%v", err)
	}
	if err := s.records.remove(id); err != nil {
		return left("forgetting the staging of %s: %v", id, err)
	}
	klog.InfoS("Undid a failed stage: nothing of the volume is left on this node", "volumeID", id, "cause", cause.Error())
	return cause
}
