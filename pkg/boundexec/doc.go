// Package boundexec gives every command the node plugin's filesystem tools
// run a deadline: mkfs, fsck and blkid (mount-utils' SafeFormatAndMount),
// resize2fs and xfs_growfs (mount-utils' ResizeFs), mount and umount.
//
// mount-utils runs them through k8s.io/utils/exec without a context, and
// runs mount(8) and umount(8) with os/exec directly, so a tool stuck on a
// disk whose target went away would hold its CSI call, and with it the
// volume's in-flight lock, for as long as the kernel keeps the I/O queued.
// Here:
//
//   - Exec wraps any exec.Interface: each command gets a context with the
//     timeout, and its Run, Output and CombinedOutput return by the
//     deadline plus a short grace period, whether or not the process has
//     exited by then.
//   - ProcessGroups is the exec.Interface of real processes for it: each
//     command runs in its own process group, and the whole group is killed
//     when the context ends (fsck runs fsck.ext4 as a child, which must not
//     outlive it and run on alongside the next fsck of a retry).
//   - Mounter is a mount.Interface whose Mount and Unmount run mount(8) and
//     umount(8) through such an Exec.
//
// A process blocked in the kernel (D state, as on a disk whose session is
// recovering) cannot die before the I/O it waits for ends: the call
// returns at the deadline anyway, the process is left killed and is
// reaped when the kernel lets it go (at the latest when the iSCSI
// replacement timeout fails the I/O).
package boundexec
