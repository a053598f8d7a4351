package driver

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"k8s.io/klog/v2"
)

// probeTimeout bounds the look at a staging mount's filesystem (statfs and
// reading its top directory): I/O to a disk whose session is recovering
// waits for the reconnect or for the replacement timeout.
const probeTimeout = 5 * time.Second

// stagingMount is what the mount table says is mounted at a staging path.
type stagingMount struct {
	path     string
	source   string   // the device as the mount table names it; "" when nothing is mounted
	readOnly bool     // mounted read-only now
	refs     []string // the other mounts of the same filesystem: pods' bind mounts
}

func (m *stagingMount) mounted() bool { return m.source != "" }

// readStagingMount looks path up in the mount table (the last mount there
// is the one seen). It never stats path: the root of a filesystem shut
// down after I/O errors answers stat with EIO, and mount-utils'
// GetMountRefs then takes it for "not mounted" and reports no references.
// A bind mount carries its source's device name in the mount table, so the
// other mounts of the same device are the references.
func (s *nodeService) readStagingMount(path string) (*stagingMount, error) {
	// The mount table has paths with links resolved; resolve those of
	// the parent only, which is not on the mounted filesystem.
	if parent, err := filepath.EvalSymlinks(filepath.Dir(path)); err == nil {
		path = filepath.Join(parent, filepath.Base(path))
	}
	mps, err := s.cfg.Mounter.List()
	if err != nil {
		return nil, fmt.Errorf("listing mounts: %w", err)
	}
	m := &stagingMount{path: path}
	for _, mp := range mps {
		if mp.Path == path {
			m.source, m.readOnly = mp.Device, slices.Contains(mp.Opts, "ro")
		}
	}
	if !m.mounted() {
		return m, nil
	}
	for _, mp := range mps {
		if mp.Device == m.source && mp.Path != path && !slices.Contains(m.refs, mp.Path) {
			m.refs = append(m.refs, mp.Path)
		}
	}
	return m, nil
}

// isVolumeDisk reports whether dev, the source of a mount at the volume's
// staging path, is (or was) the volume's: its serial is the volume id, or
// it is gone (a disk whose session was closed under its mount; the staging
// path is the volume's own, so nothing else was mounted there).
func (s *nodeService) isVolumeDisk(dev, id string) bool {
	if _, err := os.Stat(dev); errors.Is(err, fs.ErrNotExist) {
		return true
	}
	return s.cfg.Disks.VerifySerial(dev, id) == nil
}

// mountProblem is what is wrong with a staging mount, worded for users
// (NodeGetVolumeHealth's reason and message).
type mountProblem struct {
	reason string
	status csi.VolumeHealthErrorType
	what   string
}

// stagingProblem checks the filesystem mounted at a staging path: its disk
// is still there and is the volume's current disk dev (when dev is known),
// it is read-only only when staged so, and it answers. nil when it is
// healthy.
func (s *nodeService) stagingProblem(m *stagingMount, dev string, stagedReadOnly bool) *mountProblem {
	if _, err := os.Stat(m.source); errors.Is(err, fs.ErrNotExist) {
		return &mountProblem{"DiskReplaced", csi.VolumeHealthErrorType_INACCESSIBLE, fmt.Sprintf(
			"the disk %s under the staging mount %s is gone (its iSCSI session was closed, or re-established with a new disk); the filesystem can no longer reach the volume", m.source, m.path)}
	}
	if dev != "" && !sameDevice(m.source, dev) {
		return &mountProblem{"DiskReplaced", csi.VolumeHealthErrorType_INACCESSIBLE, fmt.Sprintf(
			"the staging mount %s is on %s, but the volume's disk is now %s (the iSCSI session was re-established); the filesystem can no longer reach the volume", m.path, m.source, dev)}
	}
	if m.readOnly && !stagedReadOnly {
		return &mountProblem{"ReadOnly", csi.VolumeHealthErrorType_DEGRADED, fmt.Sprintf(
			"the filesystem at %s went read-only, which the kernel does after I/O errors (the iSCSI target was unreachable for longer than the replacement timeout, see the kernel log); writes fail", m.path)}
	}
	if err := s.probe(m.path, !stagedReadOnly); err != nil {
		if errors.Is(err, syscall.EROFS) {
			return &mountProblem{"ReadOnly", csi.VolumeHealthErrorType_DEGRADED, fmt.Sprintf(
				"the filesystem at %s refuses writes (%v) although it is mounted read-write, which ext4 does after I/O errors abort its journal (the iSCSI target was unreachable for longer than the replacement timeout, see the kernel log)", m.path, err)}
		}
		return &mountProblem{"IOError", csi.VolumeHealthErrorType_INACCESSIBLE, fmt.Sprintf("the filesystem at %s fails: %v", m.path, err)}
	}
	return nil
}

// remedy is what a user can do about a broken staging mount still in use.
func remedy(refs []string) string {
	return fmt.Sprintf("pods on this node still use it through %s, which a remount of the staging path would not reach: delete the pods using the volume on this node; once kubelet has unpublished them it unstages the volume, and the next stage mounts the volume's current disk again (after fsck)",
		strings.Join(refs, ", "))
}

// brokenError is the error of a call that finds the staging mount broken.
func (p *mountProblem) brokenError(id string, refs []string) error {
	if len(refs) == 0 {
		return fail(errStagingBroken, "volume %s: %s", id, p.what)
	}
	return fail(errStagingBroken, "volume %s: %s; %s", id, p.what, remedy(refs))
}

// reuseStagingMount decides about m, what a retried NodeStageVolume finds
// mounted at the staging path, dev being the volume's disk now. true: the volume's
// disk, working, so the stage is done. A broken staging mount that nothing
// else uses is unmounted (false: mount the disk again). One that pods'
// bind mounts use cannot be repaired under them: the error says so and is
// errStillStaged. Another volume's disk there is errPathInUse.
func (s *nodeService) reuseStagingMount(id, dev string, m *stagingMount, stagedReadOnly bool) (bool, error) {
	staging := m.path
	if !sameDevice(m.source, dev) && !s.isVolumeDisk(m.source, id) {
		return false, fail(errPathInUse, "%s already has %s mounted, not %s", staging, m.source, dev)
	}
	p := s.stagingProblem(m, dev, stagedReadOnly)
	if p == nil {
		return true, nil // staged before: a retry
	}
	if len(m.refs) > 0 {
		return false, fail(errStillStaged, "%w", p.brokenError(id, m.refs))
	}
	klog.InfoS("Unmounting a broken staging mount that nothing else uses, to mount the volume's disk again",
		"volumeID", id, "path", staging, "reason", p.reason, "detail", p.what)
	if err := s.cfg.Mounter.Unmount(staging); err != nil {
		return false, fmt.Errorf("unmounting the broken staging mount %s (%s): %w", staging, p.what, err)
	}
	return false, nil
}

// checkStagingMount fails with errStagingBroken when the filesystem
// mounted at staging no longer works. It does not look for the volume's
// current disk (that takes iscsiadm): only whether the mount's own disk is
// still there, read-write as staged, and answering.
func (s *nodeService) checkStagingMount(id, staging string, stagedReadOnly bool) error {
	m, err := s.readStagingMount(staging)
	if err != nil || !m.mounted() {
		return err
	}
	if p := s.stagingProblem(m, "", stagedReadOnly); p != nil {
		return p.brokenError(id, m.refs)
	}
	return nil
}

// probe runs probeMount on path, bounded by probeTimeout: a probe stuck in
// the kernel is left to finish on its own and reported as not answering.
func (s *nodeService) probe(path string, writable bool) error {
	done := make(chan error, 1)
	go func() { done <- s.probeMount(path, writable) }()
	timer := time.NewTimer(s.probeTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		return fmt.Errorf("no answer within %v: I/O to the volume is stalled (its iSCSI session may be reconnecting)", s.probeTimeout)
	}
}

// probeFilesystem is the real probeMount: statfs, and reading the top
// directory, which a filesystem shut down after I/O errors (xfs) refuses
// with EIO. A writable one also gets its top directory's times set to what
// they are: ext4 whose journal aborted after I/O errors refuses every write
// with EROFS while the mount table still says rw (seen in the e2e guest),
// and this is the least write that finds it: no data, no visible time but
// the directory's ctime.
func probeFilesystem(path string, writable bool) error {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return fmt.Errorf("statfs: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if !writable {
		return nil
	}
	var own unix.Stat_t
	if err := unix.Stat(path, &own); err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{own.Atim, own.Mtim}, 0); err != nil {
		return fmt.Errorf("setting the times of %s: %w", path, err)
	}
	return nil
}

// hasReadOnly reports whether mount flags ask for a read-only mount.
func hasReadOnly(flags []string) bool {
	for _, f := range flags {
		if slices.Contains(strings.Split(f, ","), "ro") {
			return true
		}
	}
	return false
}
