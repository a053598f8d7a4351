package iscsi

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/toolerr"
	"k8s.io/klog/v2"
)

// sectorSize is the unit of /sys/block/<dev>/size, whatever the device's
// logical block size.
const sectorSize = 512

// defaultPollInterval is how often WaitForDevice looks again while udev and
// the SCSI scan catch up after a login.
const defaultPollInterval = 200 * time.Millisecond

// Devices finds, checks and removes the SCSI disks behind iSCSI sessions.
// It reads sysfs and /dev under the roots it was given, so tests can run
// it against a fake tree.
type Devices struct {
	run          *runner.Runner
	sysRoot      string
	devRoot      string
	pollInterval time.Duration
	// inquire reads a disk's unit serial page from the disk itself
	// (InquireSerialPage), for when sysfs has no copy.
	inquire func(dev string) ([]byte, error)
}

// NewDevices returns Devices reading sysfs under sysRoot and device nodes
// under devRoot ("/sys" and "/dev" on a host), and running blockdev
// through r.
func NewDevices(r *runner.Runner, sysRoot, devRoot string) *Devices {
	return &Devices{run: r, sysRoot: sysRoot, devRoot: devRoot, pollInterval: defaultPollInterval, inquire: InquireSerialPage}
}

// Serial returns the unit serial number of dev ("/dev/sdb" or a link to
// it): the SCSI VPD page 0x80 the kernel caches in
// /sys/block/<sdX>/device/vpd_pg80, which for this driver's LUNs is the
// volume id set as tgt's scsi_sn.
func (d *Devices) Serial(dev string) (string, error) {
	name, err := d.blockName(dev)
	if err != nil {
		return "", err
	}
	path := filepath.Join(d.sysRoot, "block", name, "device", "vpd_pg80")
	page, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if !d.exists(name) {
			return "", fmt.Errorf("%w: %s", ErrDeviceNotFound, dev)
		}
		// The kernel's INQUIRY at the scan failed, and sysfs will not
		// show the page later: ask the disk.
		klog.V(2).InfoS("No unit serial page in sysfs; asking the disk", "device", dev, "path", path)
		path = filepath.Join(d.devRoot, name)
		if page, err = d.inquire(path); err != nil {
			return "", fmt.Errorf("reading the unit serial number of %s (sysfs has no copy): %w", dev, err)
		}
	} else if err != nil {
		return "", fmt.Errorf("reading the unit serial number of %s: %w", dev, err)
	}
	serial, err := parseUnitSerialPage(page)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return serial, nil
}

// parseUnitSerialPage decodes a Unit Serial Number VPD page (SPC-4
// 7.8.16): peripheral byte, page code 0x80, a big-endian page length, then
// the serial in ASCII, which targets pad with spaces (and some with NULs).
func parseUnitSerialPage(page []byte) (string, error) {
	if len(page) < 4 || page[1] != 0x80 {
		return "", fmt.Errorf("not a unit serial number VPD page (%d bytes)", len(page))
	}
	length := int(binary.BigEndian.Uint16(page[2:4]))
	body := page[4:]
	if length < len(body) {
		body = body[:length]
	}
	return strings.Trim(string(body), " \x00"), nil
}

// VerifySerial fails with ErrSerialMismatch unless dev's serial is want.
// Run it before formatting or mounting: it is what stops a node from
// writing to another volume's disk found under a stale name.
func (d *Devices) VerifySerial(dev, want string) error {
	got, err := d.Serial(dev)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%w: %s has serial %q, want %q", ErrSerialMismatch, dev, got, want)
	}
	return nil
}

// Size returns the size of dev in bytes, from /sys/block/<sdX>/size (in
// 512-byte sectors), which the kernel updates on a rescan after the LUN
// grew.
func (d *Devices) Size(dev string) (uint64, error) {
	name, err := d.blockName(dev)
	if err != nil {
		return 0, err
	}
	data, err := os.ReadFile(filepath.Join(d.sysRoot, "block", name, "size"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("%w: %s", ErrDeviceNotFound, dev)
	}
	if err != nil {
		return 0, fmt.Errorf("reading the size of %s: %w", dev, err)
	}
	sectors, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", dev, err)
	}
	return sectors * sectorSize, nil
}

// State returns the SCSI state of disk dev, from
// /sys/block/<sdX>/device/state: "running"; "blocked" while its session
// is down and I/O waits for the reconnect (at most the replacement
// timeout); "transport-offline" once the replacement timeout passed, when
// I/O fails at once until the session comes back; "offline" after the
// SCSI error handler gave up on it.
func (d *Devices) State(dev string) (string, error) {
	name, err := d.blockName(dev)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(filepath.Join(d.sysRoot, "block", name, "device", "state"))
	if errors.Is(err, fs.ErrNotExist) && !d.exists(name) {
		return "", fmt.Errorf("%w: %s", ErrDeviceNotFound, dev)
	}
	if err != nil {
		return "", fmt.Errorf("reading the state of %s: %w", dev, err)
	}
	return strings.TrimSpace(string(data)), nil
}

// Unreachable reports whether a disk in state (see State) fails every
// I/O: nothing can be written to it, or flushed, until its session
// reconnects.
func Unreachable(state string) bool {
	return state == "transport-offline" || state == "offline"
}

// Remove flushes dev's buffers and deletes the disk from the SCSI layer,
// so that logging out afterwards does not leave a dead sdX behind (or
// worse, one that I/O hangs on). A device that is already gone, or goes
// while this runs, is success. A failed flush is returned and the disk is
// kept: deleting it would drop whatever did not reach the target. Except
// when the disk is unreachable (its target fenced this node out, or has
// been gone for longer than the replacement timeout): then it cannot even
// be opened, what it did not write is lost already, and it is deleted
// without the flush, or NodeUnstageVolume could never finish.
func (d *Devices) Remove(ctx context.Context, dev string) error {
	name, err := d.blockName(dev)
	if err != nil {
		return err
	}
	if !d.exists(name) {
		return nil
	}
	if state, _ := d.State(dev); Unreachable(state) {
		klog.InfoS("Removing an unreachable SCSI disk without flushing it: writes it still held are lost", "device", dev, "state", state)
	} else if _, err := d.run.Run(ctx, "blockdev", "--flushbufs", filepath.Join(d.devRoot, name)); err != nil {
		if !d.exists(name) {
			return nil
		}
		// The replacement timeout may have passed while the flush waited.
		if state, _ := d.State(dev); !Unreachable(state) {
			return &toolerr.Error{Tool: tool, Op: "flushing " + dev + " before removing it", Err: err}
		}
		klog.ErrorS(err, "Flushing the disk failed and it is unreachable now: removing it, writes it still held are lost", "device", dev, "state", state)
	}
	// O_WRONLY without O_CREATE: writing to a delete file that vanished
	// must not create a regular file in its place.
	f, err := os.OpenFile(filepath.Join(d.sysRoot, "block", name, "device", "delete"), os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("removing %s: %w", dev, err)
	}
	_, werr := f.Write([]byte("1"))
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil && d.exists(name) {
		return fmt.Errorf("removing %s: %w", dev, err)
	}
	klog.V(2).InfoS("Removed SCSI disk", "device", dev, "disk", name)
	return nil
}

// blockName returns the kernel name ("sdb") of dev, a path under devRoot
// or a link to one (a /dev/disk/by-path link). A link that no longer
// resolves is taken by its own name, which then is not found in sysfs.
func (d *Devices) blockName(dev string) (string, error) {
	if resolved, err := filepath.EvalSymlinks(dev); err == nil {
		dev = resolved
	}
	name := filepath.Base(dev)
	if !validBlockName(name) {
		return "", fmt.Errorf("%w: %q is not a block device path", ErrInvalidArgument, dev)
	}
	return name, nil
}

// validBlockName accepts kernel block device names such as sdb or sdaa1:
// they become sysfs path components, so nothing like ".." gets through.
func validBlockName(name string) bool {
	if name == "" || len(name) > 32 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// exists reports whether the kernel still has block device name.
func (d *Devices) exists(name string) bool {
	_, err := os.Stat(filepath.Join(d.sysRoot, "block", name))
	return err == nil
}
