package doctor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"k8s.io/mount-utils"
)

// sessionDisks are the kernel names of the SCSI disks behind session sid:
// class/iscsi_session/session<sid>/device/target*/<H:C:T:L>/block/<sdX>.
func (n *node) sessionDisks(sid int) []string {
	pattern := filepath.Join(n.cfg.SysRoot, "class", "iscsi_session", "session"+strconv.Itoa(sid), "device", "target*", "*:*:*:*", "block", "*")
	paths, _ := filepath.Glob(pattern)
	names := make([]string, 0, len(paths))
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	return names
}

// blockDevs are the "major:minor" numbers of disk name and its partitions.
func (n *node) blockDevs(name string) []string {
	dir := filepath.Join(n.cfg.SysRoot, "class", "block", name)
	files := []string{filepath.Join(dir, "dev")}
	parts, _ := filepath.Glob(filepath.Join(dir, name+"*", "dev"))
	files = append(files, parts...)
	var out []string
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil {
			out = append(out, strings.TrimSpace(string(data)))
		}
	}
	return out
}

func (n *node) mounts() ([]mount.MountInfo, error) {
	return mount.ParseMountInfo(filepath.Join(n.cfg.ProcRoot, "self", "mountinfo"))
}

// sessionUsers says what uses the disks of session sid: mounts of them or
// of their partitions, bind mounts of their device nodes (raw block
// volumes), and device-mapper devices on them (holders). An unreadable
// mount table counts as a user: nothing is logged out on a guess.
func (n *node) sessionUsers(sid int) []string {
	var users []string
	mounts, err := n.mounts()
	if err != nil {
		return []string{"the mount table cannot be read: " + err.Error()}
	}
	for _, disk := range n.sessionDisks(sid) {
		devs := map[string]bool{}
		for _, d := range n.blockDevs(disk) {
			devs[d] = true
		}
		for _, m := range mounts {
			dev := fmt.Sprintf("%d:%d", m.Major, m.Minor)
			if devs[dev] || (m.FsType == "devtmpfs" && isDeviceNodeOf(m.Root, disk)) {
				users = append(users, fmt.Sprintf("%s mounted on %s", disk, m.MountPoint))
			}
		}
		holders, _ := filepath.Glob(filepath.Join(n.cfg.SysRoot, "class", "block", disk, "holders", "*"))
		for _, h := range holders {
			users = append(users, fmt.Sprintf("%s held by %s", disk, filepath.Base(h)))
		}
	}
	return users
}

// isDeviceNodeOf reports whether root, the root of a devtmpfs bind mount,
// is the device node of disk or of one of its partitions (sdb, sdb1).
func isDeviceNodeOf(root, disk string) bool {
	rest, ok := strings.CutPrefix(root, "/"+disk)
	return ok && strings.Trim(rest, "0123456789") == ""
}

// underKubelet reports whether path is the kubelet directory or below it.
func (n *node) underKubelet(path string) bool {
	rel, err := filepath.Rel(n.cfg.KubeletDir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// checkMounts finds mounts under the kubelet directory whose disk the
// kernel no longer has: a filesystem mount keeps the dev_t of a deleted
// disk, and /sys/dev/block/<major:minor> is gone; a raw block volume's
// bind mount of a device node names the disk in its root.
func (n *node) checkMounts(context.Context) []Finding {
	mounts, err := n.mounts()
	if err != nil {
		return []Finding{{Severity: Warning, What: "the mount table cannot be read: " + err.Error()}}
	}
	var out []Finding
	for _, m := range mounts {
		if !n.underKubelet(m.MountPoint) {
			continue
		}
		var gone string
		switch {
		case m.FsType == "devtmpfs" && m.Root != "/":
			name := strings.TrimPrefix(m.Root, "/")
			if _, err := os.Stat(filepath.Join(n.cfg.SysRoot, "class", "block", name)); os.IsNotExist(err) {
				gone = "/dev/" + name
			}
		case m.Major != 0:
			dev := fmt.Sprintf("%d:%d", m.Major, m.Minor)
			if _, err := os.Stat(filepath.Join(n.cfg.SysRoot, "dev", "block", dev)); os.IsNotExist(err) {
				gone = fmt.Sprintf("%s (device %s)", m.Source, dev)
			}
		}
		if gone == "" {
			continue
		}
		out = append(out, Finding{Severity: Error,
			What: fmt.Sprintf("%s is mounted from %s, which the kernel no longer has", m.MountPoint, gone),
			Fix: "delete the pods that use it so kubelet unpublishes and unstages the volume (the node plugin remounts a broken staging mount " +
				"no pod uses at the next stage); if kubelet cannot, unmount it by hand:",
			Command: []string{"umount", m.MountPoint}})
	}
	if len(out) == 0 {
		return []Finding{ok("stale-mount", "every mount under "+n.cfg.KubeletDir+" has its disk")}
	}
	return out
}

// checkMultipathd looks for multipathd holding the disks of our sessions.
func (n *node) checkMultipathd(ctx context.Context) []Finding {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if err := n.deps.Dial(dctx, "unix", n.cfg.MultipathdSocket); err != nil {
		return []Finding{ok("multipathd", "multipathd is not running")}
	}
	sessions, err := n.deps.Initiator.Sessions(ctx)
	if err != nil {
		return []Finding{{Severity: Warning, What: "multipathd runs; the disks it holds were not checked: " + err.Error()}}
	}
	blacklist := `blacklist tgt's disks in /etc/multipath.conf: blacklist { device { vendor "IET" product "VIRTUAL-DISK" } }, ` +
		"then multipathd reconfigure (which drops the maps on them) and, for a map still there: multipath -f "
	var out []Finding
	for _, s := range sessions {
		if n.volumeOf(s.IQN) == "" {
			continue
		}
		for _, disk := range n.sessionDisks(s.ID) {
			holders, _ := filepath.Glob(filepath.Join(n.cfg.SysRoot, "class", "block", disk, "holders", "*"))
			for _, h := range holders {
				dm := filepath.Join(n.cfg.SysRoot, "class", "block", filepath.Base(h), "dm")
				uuid, _ := os.ReadFile(filepath.Join(dm, "uuid"))
				if !strings.HasPrefix(string(uuid), "mpath-") {
					continue
				}
				// multipath -f takes the map's name (its WWID unless
				// user_friendly_names), not the dm-N node.
				name := filepath.Base(h)
				if b, err := os.ReadFile(filepath.Join(dm, "name")); err == nil && strings.TrimSpace(string(b)) != "" {
					name = strings.TrimSpace(string(b))
				}
				out = append(out, Finding{Severity: Error, Fix: blacklist + name,
					What: fmt.Sprintf("multipathd has claimed %s, the disk of %s, as map %s (%s)", disk, s.IQN, name, filepath.Base(h))})
			}
		}
	}
	if len(out) == 0 {
		return []Finding{ok("multipathd", "multipathd runs but holds no disk of this driver's volumes (blacklist vendor IET, product VIRTUAL-DISK to keep it so)")}
	}
	return out
}
