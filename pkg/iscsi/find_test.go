package iscsi

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// shortWait keeps the tests that expect nothing to show up fast.
const shortWait = 100 * time.Millisecond

func newFindDevices(t *testing.T, h *fakeHost) *Devices {
	d := newTestDevices(t, h, h.devRoot)
	d.pollInterval = 5 * time.Millisecond
	return d
}

func TestWaitForDeviceByPath(t *testing.T) {
	h := newFakeHost(t)
	// No session in sysfs: only the by-path link can find the disk.
	h.addDisk(filepath.Join(h.sysRoot, "devices", "platform", "host2", "session1"), "sdb", "2:0:0:1", 32768, tgtUnitSerialPage(t))
	h.addByPath("ip-127.0.0.1:3262-iscsi-"+recIQN+"-lun-1", "sdb")
	d := newFindDevices(t, h)
	got, err := d.WaitForDevice(context.Background(), Target{Portal: recPortal, IQN: recIQN, LUN: 1}, shortWait)
	if err != nil || got != filepath.Join(h.devRoot, "sdb") {
		t.Fatalf("WaitForDevice = %q, %v; want %s", got, err, filepath.Join(h.devRoot, "sdb"))
	}
}

func TestWaitForDeviceThroughSysfs(t *testing.T) {
	h := newFakeHost(t)
	// Another target on the same portal, and the same target on another
	// portal, come first and must not be taken.
	h.addDisk(h.addSession(1, 2, "iqn.2026-11.io.csi.lvm-iscsi:vol-other", "127.0.0.1", "3262"), "sdb", "2:0:0:1", 32768, nil)
	h.addDisk(h.addSession(2, 3, recIQN, "127.0.0.2", "3262"), "sdc", "3:0:0:1", 32768, nil)
	h.addDisk(h.addSession(3, 4, recIQN, "127.0.0.1", "3260"), "sdd", "4:0:0:1", 32768, nil)
	session := h.addSession(4, 5, recIQN, "127.0.0.1", "3262")
	h.addDisk(session, "sde", "5:0:0:0", 32768, nil)
	h.addDisk(session, "sdf", "5:0:0:1", 32768, tgtUnitSerialPage(t))
	d := newFindDevices(t, h)
	got, err := d.WaitForDevice(context.Background(), Target{Portal: recPortal, IQN: recIQN, LUN: 1}, shortWait)
	if err != nil || got != filepath.Join(h.devRoot, "sdf") {
		t.Fatalf("WaitForDevice = %q, %v; want %s", got, err, filepath.Join(h.devRoot, "sdf"))
	}
}

func TestWaitForDeviceIPv6(t *testing.T) {
	target := Target{Portal: "[fd00::5]:3260", IQN: recIQN, LUN: 1}

	h := newFakeHost(t)
	h.addDisk(h.addSession(7, 2, recIQN, "fd00:0:0::5", "3260"), "sdb", "2:0:0:1", 32768, nil)
	got, err := newFindDevices(t, h).WaitForDevice(context.Background(), target, shortWait)
	if err != nil || got != filepath.Join(h.devRoot, "sdb") {
		t.Fatalf("WaitForDevice through sysfs = %q, %v; want %s", got, err, filepath.Join(h.devRoot, "sdb"))
	}

	h = newFakeHost(t)
	h.addDisk(filepath.Join(h.sysRoot, "devices", "platform", "host2", "session7"), "sdc", "2:0:0:1", 32768, nil)
	h.addByPath("ip-fd00::5:3260-iscsi-"+recIQN+"-lun-1", "sdc")
	got, err = newFindDevices(t, h).WaitForDevice(context.Background(), target, shortWait)
	if err != nil || got != filepath.Join(h.devRoot, "sdc") {
		t.Fatalf("WaitForDevice by path = %q, %v; want %s", got, err, filepath.Join(h.devRoot, "sdc"))
	}
}

func TestWaitForDeviceWaitsForUdev(t *testing.T) {
	h := newFakeHost(t)
	h.addDisk(filepath.Join(h.sysRoot, "devices", "platform", "host2", "session1"), "sdb", "2:0:0:1", 32768, nil)
	byPath := filepath.Join(h.devRoot, "disk", "by-path")
	h.mkdir(byPath)
	go func() {
		time.Sleep(50 * time.Millisecond)
		// Not h.addByPath: that may call t.Fatal, which only the test's
		// own goroutine may.
		if err := os.Symlink(filepath.Join("..", "..", "sdb"), filepath.Join(byPath, "ip-127.0.0.1:3262-iscsi-"+recIQN+"-lun-1")); err != nil {
			t.Error(err)
		}
	}()
	d := newFindDevices(t, h)
	got, err := d.WaitForDevice(context.Background(), Target{Portal: recPortal, IQN: recIQN, LUN: 1}, 10*time.Second)
	if err != nil || got != filepath.Join(h.devRoot, "sdb") {
		t.Fatalf("WaitForDevice = %q, %v; want %s", got, err, filepath.Join(h.devRoot, "sdb"))
	}
}

func TestWaitForDeviceNotFound(t *testing.T) {
	h := newFakeHost(t)
	session := h.addSession(1, 2, recIQN, "127.0.0.1", "3262")
	h.addDisk(session, "sdb", "2:0:0:1", 32768, nil)
	// A stale link: udev has not removed it yet, the disk is gone.
	h.addByPath("ip-127.0.0.1:3262-iscsi-"+recIQN+"-lun-2", "sdc")
	d := newFindDevices(t, h)

	for name, target := range map[string]Target{
		"other LUN":   {Portal: recPortal, IQN: recIQN, LUN: 2},
		"other IQN":   {Portal: recPortal, IQN: recMissing, LUN: 1},
		"other port":  {Portal: "127.0.0.1:3260", IQN: recIQN, LUN: 1},
		"other host ": {Portal: "127.0.0.9:3262", IQN: recIQN, LUN: 1},
	} {
		start := time.Now()
		got, err := d.WaitForDevice(context.Background(), target, shortWait)
		if !errors.Is(err, ErrDeviceNotFound) {
			t.Errorf("%s: WaitForDevice = %q, %v; want ErrDeviceNotFound", name, got, err)
		}
		if waited := time.Since(start); waited < shortWait {
			t.Errorf("%s: gave up after %v, before the %v timeout", name, waited, shortWait)
		}
	}
}

func TestWaitForDeviceStopsWithContext(t *testing.T) {
	h := newFakeHost(t)
	d := newFindDevices(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	_, err := d.WaitForDevice(ctx, Target{Portal: recPortal, IQN: recIQN, LUN: 1}, time.Minute)
	if !errors.Is(err, ErrDeviceNotFound) || time.Since(start) > 10*time.Second {
		t.Fatalf("WaitForDevice with a cancelled context: %v after %v", err, time.Since(start))
	}
}

func TestWaitForDeviceRefusesBadTargets(t *testing.T) {
	d := newFindDevices(t, newFakeHost(t))
	for _, target := range []Target{
		{Portal: recPortal, IQN: recIQN, LUN: -1},
		{Portal: recPortal, IQN: recIQN, LUN: 256},
		{Portal: "../../etc:1", IQN: recIQN, LUN: 1},
		{Portal: recPortal, IQN: "iqn.2026-11.io.csi:../../x", LUN: 1},
	} {
		if _, err := d.WaitForDevice(context.Background(), target, time.Minute); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("WaitForDevice(%+v) = %v, want ErrInvalidArgument", target, err)
		}
	}
}
