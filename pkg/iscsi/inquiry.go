package iscsi

import (
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sgIOHdr is struct sg_io_hdr of <scsi/sg.h> (interface 'S'); Go lays it
// out as C does on the 64-bit platforms the driver is built for.
type sgIOHdr struct {
	interfaceID    int32
	dxferDirection int32
	cmdLen         uint8
	mxSbLen        uint8
	iovecCount     uint16
	dxferLen       uint32
	dxferp         unsafe.Pointer
	cmdp           unsafe.Pointer
	sbp            unsafe.Pointer
	timeout        uint32
	flags          uint32
	packID         int32
	usrPtr         unsafe.Pointer
	status         uint8
	maskedStatus   uint8
	msgStatus      uint8
	sbLenWr        uint8
	hostStatus     uint16
	driverStatus   uint16
	resid          int32
	duration       uint32
	info           uint32
}

const (
	sgIO            = 0x2285 // SG_IO
	sgDxferFromDev  = -3     // SG_DXFER_FROM_DEV
	inquiryTimeout  = 10_000 // milliseconds
	inquiryAllocLen = 252    // room for any serial this driver sets, in a 6-byte CDB's one-byte length
)

// InquireSerialPage asks disk dev for its Unit Serial Number VPD page
// (0x80) with a SCSI INQUIRY through the SG_IO ioctl, as udev's scsi_id
// does. The kernel's copy in sysfs (Serial) is missing when its own
// INQUIRY at the scan failed (seen in the e2e guest: vpd_pg80 absent on a
// freshly logged-in disk), and sysfs never shows it later; the disk itself
// always answers.
func InquireSerialPage(dev string) ([]byte, error) {
	f, err := os.OpenFile(dev, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cdb := []byte{0x12, 0x01, 0x80, 0x00, inquiryAllocLen, 0x00} // INQUIRY, EVPD=1, page 0x80
	data := make([]byte, inquiryAllocLen)
	sense := make([]byte, 32)
	hdr := sgIOHdr{
		interfaceID:    'S',
		dxferDirection: sgDxferFromDev,
		cmdLen:         uint8(len(cdb)),
		mxSbLen:        uint8(len(sense)),
		dxferLen:       uint32(len(data)),
		dxferp:         unsafe.Pointer(&data[0]),
		cmdp:           unsafe.Pointer(&cdb[0]),
		sbp:            unsafe.Pointer(&sense[0]),
		timeout:        inquiryTimeout,
	}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), sgIO, uintptr(unsafe.Pointer(&hdr)))
	runtime.KeepAlive(data)
	runtime.KeepAlive(cdb)
	runtime.KeepAlive(sense)
	if errno != 0 {
		return nil, fmt.Errorf("INQUIRY of %s: %w", dev, errno)
	}
	if hdr.status != 0 || hdr.hostStatus != 0 || hdr.driverStatus != 0 {
		return nil, fmt.Errorf("INQUIRY of %s failed: SCSI status %#x, host status %#x, driver status %#x, sense % x",
			dev, hdr.status, hdr.hostStatus, hdr.driverStatus, sense[:hdr.sbLenWr])
	}
	n := len(data) - int(hdr.resid)
	if n < 0 || n > len(data) {
		n = len(data)
	}
	return data[:n], nil
}
