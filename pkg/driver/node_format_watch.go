package driver

import (
	"context"
	"strings"
	"sync/atomic"

	mount "k8s.io/mount-utils"
	utilexec "k8s.io/utils/exec"
)

// formatWatch is the exec of one FormatAndMount call that notes whether
// the call ran mkfs, which mount-utils does not report. A filesystem mkfs
// has just made fills its device, so NodeStageVolume skips the check for
// one to grow (blockdev, blkid and resize2fs or xfs_growfs: a third of
// its time over the bare commands, docs/benchmarks.md).
type formatWatch struct {
	utilexec.Interface
	formatted atomic.Bool
}

// watchFormat returns a copy of m that formats and mounts through w.
func watchFormat(m *mount.SafeFormatAndMount) (*mount.SafeFormatAndMount, *formatWatch) {
	w := &formatWatch{Interface: m.Exec}
	watched := *m // keeps m's format semaphore and timeout
	watched.Exec = w
	return &watched, w
}

func (w *formatWatch) note(cmd string) {
	if strings.HasPrefix(cmd, "mkfs.") {
		w.formatted.Store(true)
	}
}

func (w *formatWatch) Command(cmd string, args ...string) utilexec.Cmd {
	w.note(cmd)
	return w.Interface.Command(cmd, args...)
}

func (w *formatWatch) CommandContext(ctx context.Context, cmd string, args ...string) utilexec.Cmd {
	w.note(cmd)
	return w.Interface.CommandContext(ctx, cmd, args...)
}
