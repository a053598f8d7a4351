package main

import (
	"fmt"
	"path/filepath"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/driver"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/exclusive"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// controllerLock is what makes a controller the only one of its storage
// host (docs/security.md, "One controller"): one flock per thing two
// controllers could share and fight over, always taken in this order:
//
//   - its state directory (CHAP secrets): two controllers with one state
//     directory, whatever their volume groups;
//   - its volume group, by name, in --vg-lock-dir (LVM's lock directory,
//     which every process running lvm on the host shares and the chart
//     mounts from the host): two controllers with different state
//     directories on one volume group;
//   - its tgtd, next to tgtd's control socket (the chart mounts that
//     directory from the host too): two controllers of different volume
//     groups on one tgtd would each remove the other's targets and CHAP
//     accounts as leftovers.
func controllerLock(opts driver.Options) *exclusive.Lock {
	owner := exclusive.Owner(fmt.Sprintf("controller of volume group %s, state directory %s, tgtd control port %d",
		opts.VolumeGroup, opts.StateDir, opts.TgtControlPort))
	return exclusive.New(owner,
		filepath.Join(opts.StateDir, "controller.lock"),
		filepath.Join(opts.VGLockDir, "lvm-iscsi-csi.vg."+opts.VolumeGroup+".lock"),
		tgt.SocketPath(opts.TgtControlPort)+".lvm-iscsi-csi.lock")
}
