package doctor

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
)

// recommendedFilter is what the driver passes (driver.DefaultLVMGlobalFilter)
// and what lvm.conf should hold: a reject pattern alone, since lvm accepts a
// device as soon as any of its names meets an accept pattern.
const recommendedFilter = `r|^/dev/disk/by-path/.*-iscsi-.*|`

// iscsiDiskNames are the names udev gives a disk of one of our volumes:
// the kernel's, by-id's and by-path's. lvm decides on all of them
// (lvm.FilterRejects).
func (h *host) iscsiDiskNames() []string {
	ip, p, err := net.SplitHostPort(h.cfg.Portal)
	if err != nil {
		ip, p = "192.0.2.1", "3260"
	}
	iqn := publish.IQN(h.cfg.IQNPrefix, "csi-0123456789abcdef0123456789ab")
	return []string{
		"/dev/sdz",
		"/dev/disk/by-id/scsi-360000000000000000e00000000010001",
		"/dev/disk/by-id/wwn-0x60000000000000000e00000000010001",
		fmt.Sprintf("/dev/disk/by-path/ip-%s:%s-iscsi-%s-lun-%d", ip, p, iqn, publish.LUN),
	}
}

// hasSessions reports whether this host is logged in to iSCSI targets
// now, which makes an lvm that scans their disks a present problem.
func (h *host) hasSessions() bool {
	sessions, _ := filepath.Glob(filepath.Join(h.cfg.SysRoot, "class", "iscsi_session", "session*"))
	return len(sessions) > 0
}

// excludes says whether f keeps lvm off our volumes' disks, and how.
func (h *host) excludes(f *lvm.DeviceFilter) (bool, string, error) {
	if f.UseDevicesFile && f.DevicesFile != "" {
		file := filepath.Join(h.cfg.LVMSystemDir, "devices", f.DevicesFile)
		if _, err := os.Stat(file); err == nil {
			return true, "lvm scans only the devices listed in " + file, nil
		}
	}
	names := h.iscsiDiskNames()
	for _, list := range []struct {
		key      string
		patterns []string
	}{{"global_filter", f.GlobalFilter}, {"filter", f.Filter}} {
		rejected, err := lvm.FilterRejects(list.patterns, names)
		if err != nil {
			return false, "", fmt.Errorf("devices/%s: %w", list.key, err)
		}
		if rejected {
			return true, fmt.Sprintf("devices/%s %q rejects iSCSI disks", list.key, list.patterns), nil
		}
	}
	return false, fmt.Sprintf("devices/global_filter %q and devices/filter %q accept an iSCSI disk (%s)",
		f.GlobalFilter, f.Filter, strings.Join(names, ", ")), nil
}

func (h *host) filterFinding(ctx context.Context, id string, r FilterReader, whose, fix string) []Finding {
	f, err := r.DeviceFilter(ctx)
	if err != nil {
		return []Finding{{Severity: Warning, What: whose + " device filter cannot be read with lvmconfig: " + err.Error(), Fix: fix}}
	}
	excluded, how, err := h.excludes(f)
	if err != nil {
		return []Finding{{Severity: Warning, What: whose + " device filter does not parse: " + err.Error(), Fix: fix}}
	}
	if excluded {
		return []Finding{ok(id, whose+" lvm does not scan iSCSI disks: "+how)}
	}
	sev, when := Warning, " (no iSCSI session on this host now: it matters once the storage host is also a node)"
	if h.hasSessions() {
		sev, when = Error, " (this host has iSCSI sessions now)"
	}
	return []Finding{{Severity: sev, What: whose + " lvm scans iSCSI disks: " + how + when, Fix: fix}}
}

func (h *host) checkDriverFilter(ctx context.Context) []Finding {
	return h.filterFinding(ctx, "lvm-filter", h.deps.DriverFilter, "the driver's",
		fmt.Sprintf("start the controller with --lvm-global-filter=%s (the default) and without an accept-all pattern", recommendedFilter))
}

func (h *host) checkHostFilter(ctx context.Context) []Finding {
	return h.filterFinding(ctx, "lvm-filter-host", h.deps.HostFilter, "the host's",
		fmt.Sprintf(`in the storage host's %s/lvm.conf set devices { global_filter = [ "%s" ] } with no "a|.*|" in global_filter or filter `+
			`(lvm accepts a device any of whose names is accepted), or list the host's own PVs in a devices file (lvmdevices --adddev, use_devicesfile = 1)`,
			h.cfg.LVMSystemDir, recommendedFilter))
}
