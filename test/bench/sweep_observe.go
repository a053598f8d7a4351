package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// diskSize is the size in 512-byte sectors sysfs gives the block device
// at dev, 0 while it has none (or is not there yet).
func diskSize(dev string) uint64 {
	var st unix.Stat_t
	if unix.Stat(dev, &st) != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(readFile(fmt.Sprintf("/sys/dev/block/%d:%d/size", unix.Major(st.Rdev), unix.Minor(st.Rdev)))), 10, 64)
	return n
}

// observe reads from sysfs what the initiator ended up with for the disk
// at dev (a device node, a link to one or a bind-mounted device file): the
// keys its session negotiated, and what the SCSI disk driver made of the
// LU (cache type, queue depth, largest request).
func observe(dev string) map[string]string {
	out := map[string]string{}
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		out["error"] = err.Error()
		return out
	}
	blk := fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	get := func(key, path string) {
		if v, err := os.ReadFile(path); err == nil {
			out[key] = strings.TrimSpace(string(v))
		}
	}
	get("queue_depth", blk+"/device/queue_depth")
	get("max_sectors_kb", blk+"/queue/max_sectors_kb")
	get("nr_requests", blk+"/queue/nr_requests")
	if m, _ := filepath.Glob(blk + "/device/scsi_disk/*/cache_type"); len(m) == 1 {
		get("cache_type", m[0])
	}
	if m, _ := filepath.Glob(blk + "/device/scsi_disk/*/FUA"); len(m) == 1 {
		get("fua", m[0])
	}
	real, err := filepath.EvalSymlinks(blk + "/device")
	if err != nil {
		return out
	}
	sess := regexp.MustCompile(`/session(\d+)/`).FindStringSubmatch(real)
	if sess == nil {
		return out
	}
	s := "/sys/class/iscsi_session/session" + sess[1]
	for _, k := range []string{"first_burst_len", "max_burst_len", "immediate_data", "initial_r2t", "targetname"} {
		get(k, s+"/"+k)
	}
	if host := regexp.MustCompile(`/host(\d+)/`).FindStringSubmatch(real); host != nil {
		get("can_queue", "/sys/class/scsi_host/host"+host[1]+"/can_queue")
	}
	c := "/sys/class/iscsi_connection/connection" + sess[1] + ":0"
	for _, k := range []string{"max_recv_dlength", "max_xmit_dlength"} {
		get(k, c+"/"+k)
	}
	return out
}
