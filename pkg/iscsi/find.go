package iscsi

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// maxLUN is the largest LUN looked up. Up to 255 the kernel's LUN number
// (the last field of H:C:T:L in sysfs) and udev's "lun-N" are the plain
// LUN; above, both switch to encoded forms this package does not decode.
// The driver exports every volume as LUN 1.
const maxLUN = 255

// WaitForDevice returns the disk ("/dev/sdb") of t's LUN, polling until it
// appears or timeout (or ctx) ends, since the SCSI scan and udev finish
// some time after the login returns. It looks for udev's
// /dev/disk/by-path/ip-<portal>-iscsi-<iqn>-lun-<lun> link first and, when
// udev is slow or absent (containers without udev's /dev), walks sysfs
// from the session to the block device. ErrDeviceNotFound when nothing
// showed up in time. Check the result with VerifySerial before use.
func (d *Devices) WaitForDevice(ctx context.Context, t Target, timeout time.Duration) (string, error) {
	if err := checkNode(t.Portal, t.IQN); err != nil {
		return "", err
	}
	if t.LUN < 0 || t.LUN > maxLUN {
		return "", fmt.Errorf("%w: LUN %d", ErrInvalidArgument, t.LUN)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ticker := time.NewTicker(d.pollInterval)
	defer ticker.Stop()
	for {
		if dev, ok := d.findDevice(t); ok {
			return dev, nil
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return "", fmt.Errorf("%w: LUN %d of %s at %s after %v", ErrDeviceNotFound, t.LUN, t.IQN, t.Portal, timeout)
		}
	}
}

// findDevice looks once, by-path link first, then sysfs.
func (d *Devices) findDevice(t Target) (string, bool) {
	if name, ok := d.byPathDevice(t); ok {
		return filepath.Join(d.devRoot, name), true
	}
	if name, ok := d.sysfsDevice(t); ok {
		return filepath.Join(d.devRoot, name), true
	}
	return "", false
}

// byPathDevice follows udev's by-path link for t to the kernel name of the
// disk. A link to a disk sysfs no longer knows is stale and ignored.
func (d *Devices) byPathDevice(t Target) (string, bool) {
	target, err := filepath.EvalSymlinks(filepath.Join(d.devRoot, "disk", "by-path", byPathName(t)))
	if err != nil {
		return "", false
	}
	name := filepath.Base(target)
	if !validBlockName(name) || !d.exists(name) {
		return "", false
	}
	return name, true
}

// byPathName is the name udev's path_id builtin gives t's disk:
// ip-<address>:<port>-iscsi-<iqn>-lun-<lun>, the address as the kernel
// reports it, so an IPv6 one without brackets.
func byPathName(t Target) string {
	host, port, _ := net.SplitHostPort(t.Portal)
	return fmt.Sprintf("ip-%s:%s-iscsi-%s-lun-%d", host, port, t.IQN, t.LUN)
}

// sysfsDevice finds the disk through the kernel's own view:
//
//	class/iscsi_session/session<N>/targetname                 = IQN
//	class/iscsi_connection/connection<N>:0/persistent_address = portal IP
//	class/iscsi_connection/connection<N>:0/persistent_port    = portal port
//	class/iscsi_session/session<N>/device/target<H>:<C>:<T>/<H>:<C>:<T>:<LUN>/block/<sdX>
func (d *Devices) sysfsDevice(t Target) (string, bool) {
	sessions, _ := filepath.Glob(filepath.Join(d.sysRoot, "class", "iscsi_session", "session*"))
	for _, session := range sessions {
		sid := strings.TrimPrefix(filepath.Base(session), "session")
		if _, err := strconv.Atoi(sid); err != nil {
			continue
		}
		if readAttr(filepath.Join(session, "targetname")) != t.IQN || !d.sessionPortalIs(sid, t.Portal) {
			continue
		}
		pattern := filepath.Join(session, "device", "target*", "*:*:*:"+strconv.Itoa(t.LUN), "block", "*")
		disks, _ := filepath.Glob(pattern)
		for _, disk := range disks {
			if name := filepath.Base(disk); validBlockName(name) {
				return name, true
			}
		}
	}
	return "", false
}

// sessionPortalIs compares the portal session sid was logged in to with
// portal, as IP addresses so that IPv6 spellings agree.
func (d *Devices) sessionPortalIs(sid, portal string) bool {
	conn := filepath.Join(d.sysRoot, "class", "iscsi_connection", "connection"+sid+":0")
	ip := net.ParseIP(readAttr(filepath.Join(conn, "persistent_address")))
	port := readAttr(filepath.Join(conn, "persistent_port"))
	host, wantPort, err := net.SplitHostPort(portal)
	if err != nil || ip == nil {
		return false
	}
	return ip.Equal(net.ParseIP(host)) && port == wantPort
}

// readAttr returns a sysfs attribute without its newline, or "" when it
// cannot be read.
func readAttr(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}
