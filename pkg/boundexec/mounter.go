package boundexec

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
	"k8s.io/mount-utils"
	utilexec "k8s.io/utils/exec"
)

// Mounter is a mount.Interface whose mounts and unmounts run mount(8) and
// umount(8) through exec (an Exec, so with a deadline). The mount table,
// mount point checks and references are the inner mount.Interface's.
//
// It mounts as mount-utils' Mounter does without systemd: argv from
// mount.MakeMountArgsSensitiveWithMountFlags, and a bind mount followed by
// a remount that carries the source's flags (ro, nosuid, ...). It never
// wraps mount in systemd-run, which mount-utils does only so that FUSE
// daemons outlive kubelet; this driver mounts ext4, xfs and binds.
type Mounter struct {
	mount.Interface
	exec utilexec.Interface
}

var _ mount.Interface = (*Mounter)(nil)

// NewMounter runs mount and umount through exec and everything else
// through inner (mount.New("") on a host).
func NewMounter(inner mount.Interface, exec utilexec.Interface) *Mounter {
	return &Mounter{Interface: inner, exec: exec}
}

func (m *Mounter) Mount(source, target, fstype string, options []string) error {
	return m.MountSensitiveWithoutSystemdWithMountFlags(source, target, fstype, options, nil, nil)
}

func (m *Mounter) MountSensitive(source, target, fstype string, options, sensitiveOptions []string) error {
	return m.MountSensitiveWithoutSystemdWithMountFlags(source, target, fstype, options, sensitiveOptions, nil)
}

func (m *Mounter) MountSensitiveWithoutSystemd(source, target, fstype string, options, sensitiveOptions []string) error {
	return m.MountSensitiveWithoutSystemdWithMountFlags(source, target, fstype, options, sensitiveOptions, nil)
}

func (m *Mounter) MountSensitiveWithoutSystemdWithMountFlags(source, target, fstype string, options, sensitiveOptions, mountFlags []string) error {
	bind, bindOpts, bindRemountOpts, bindRemountSensitive := mount.MakeBindOptsSensitive(options, sensitiveOptions)
	if !bind {
		return m.mount(source, target, fstype, options, sensitiveOptions, mountFlags)
	}
	// A bind mount ignores most options: bind first, then remount with
	// them and with the flags of the source's own mount.
	if err := m.mount(source, target, fstype, bindOpts, bindRemountSensitive, mountFlags); err != nil {
		return err
	}
	inherited, err := bindMountOptions(source)
	if err != nil {
		return err
	}
	return m.mount(source, target, fstype, append(bindRemountOpts, inherited...), bindRemountSensitive, mountFlags)
}

func (m *Mounter) mount(source, target, fstype string, options, sensitiveOptions, mountFlags []string) error {
	args, logged := mount.MakeMountArgsSensitiveWithMountFlags(source, target, fstype, options, sensitiveOptions, mountFlags)
	out, err := m.exec.Command("mount", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mount failed: %w\nMounting command: mount\nMounting arguments: %s\nOutput: %s", err, logged, out)
	}
	return nil
}

// Unmount runs umount; a target that is not mounted is success, as with
// mount-utils on hosts whose umount says so.
func (m *Mounter) Unmount(target string) error {
	out, err := m.exec.Command("umount", target).CombinedOutput()
	if err == nil {
		return nil
	}
	if strings.Contains(string(out), "not mounted") {
		return nil
	}
	return fmt.Errorf("unmount failed: %w\nUnmounting arguments: %s\nOutput: %s", err, target, out)
}

// bindMountOptions lists the flags of the mount holding path that a bind
// mount must repeat to keep (mount-utils' getBindMountOptions).
func bindMountOptions(path string) ([]string, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return nil, fmt.Errorf("statfs %s: %w", path, err)
	}
	var opts []string
	for _, f := range []struct {
		flag int64
		opt  string
	}{
		{unix.ST_RDONLY, "ro"},
		{unix.ST_NODEV, "nodev"},
		{unix.ST_NOEXEC, "noexec"},
		{unix.ST_NOSUID, "nosuid"},
		{unix.ST_NOATIME, "noatime"},
		{unix.ST_RELATIME, "relatime"},
		{unix.ST_NODIRATIME, "nodiratime"},
	} {
		if st.Flags&f.flag != 0 {
			opts = append(opts, f.opt)
		}
	}
	return opts, nil
}
