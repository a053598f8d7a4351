package iscsi

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeHost is a sysfs and /dev tree in a temporary directory, laid out like
// a host's after an iSCSI login (symlinks included).
type fakeHost struct {
	t       *testing.T
	sysRoot string
	devRoot string
}

func newFakeHost(t *testing.T) *fakeHost {
	root := t.TempDir()
	h := &fakeHost{t: t, sysRoot: filepath.Join(root, "sys"), devRoot: filepath.Join(root, "dev")}
	h.mkdir(h.sysRoot)
	h.mkdir(h.devRoot)
	return h
}

func (h *fakeHost) mkdir(path string) {
	h.t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		h.t.Fatal(err)
	}
}

func (h *fakeHost) write(path string, data []byte) {
	h.t.Helper()
	h.mkdir(filepath.Dir(path))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		h.t.Fatal(err)
	}
}

func (h *fakeHost) symlink(target, link string) {
	h.t.Helper()
	h.mkdir(filepath.Dir(link))
	if err := os.Symlink(target, link); err != nil {
		h.t.Fatal(err)
	}
}

// addSession creates iSCSI session sid on SCSI host host, logged in to iqn
// at address:port, and returns its device directory
// (/sys/devices/platform/host<H>/session<N>), under which addDisk puts
// the session's LUNs.
func (h *fakeHost) addSession(sid, host int, iqn, address, port string) string {
	s := strconv.Itoa(sid)
	sessionDev := filepath.Join(h.sysRoot, "devices", "platform", "host"+strconv.Itoa(host), "session"+s)
	h.mkdir(sessionDev)
	class := filepath.Join(h.sysRoot, "class", "iscsi_session", "session"+s)
	h.write(filepath.Join(class, "targetname"), []byte(iqn+"\n"))
	h.symlink(sessionDev, filepath.Join(class, "device"))
	conn := filepath.Join(h.sysRoot, "class", "iscsi_connection", "connection"+s+":0")
	h.write(filepath.Join(conn, "persistent_address"), []byte(address+"\n"))
	h.write(filepath.Join(conn, "persistent_port"), []byte(port+"\n"))
	return sessionDev
}

// addDisk creates SCSI disk hctl ("2:0:0:1") named name under parent (a
// session's device directory): its size, unit serial page and delete
// file, the /sys/block/<name> link into it, and the /dev/<name> node.
func (h *fakeHost) addDisk(parent, name, hctl string, sectors uint64, vpdPg80 []byte) {
	h.t.Helper()
	hct := hctl[:strings.LastIndex(hctl, ":")]
	device := filepath.Join(parent, "target"+hct, hctl)
	h.write(filepath.Join(device, "block", name, "size"), []byte(strconv.FormatUint(sectors, 10)+"\n"))
	h.write(filepath.Join(device, "vpd_pg80"), vpdPg80)
	h.write(filepath.Join(device, "delete"), nil)
	// /sys/block/<name>/device is the SCSI device directory.
	h.symlink(filepath.Join("..", ".."), filepath.Join(device, "block", name, "device"))
	h.symlink(filepath.Join(device, "block", name), filepath.Join(h.sysRoot, "block", name))
	h.write(filepath.Join(h.devRoot, name), nil)
}

// addByPath creates udev's by-path link name pointing at /dev/<disk>.
func (h *fakeHost) addByPath(name, disk string) {
	h.symlink(filepath.Join("..", "..", disk), filepath.Join(h.devRoot, "disk", "by-path", name))
}
