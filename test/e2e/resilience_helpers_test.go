//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

// Helpers of the node resilience tests: what the kernel and open-iscsi say
// about a volume's session and disk, independently of the driver.

// timing logs a measurement in a form the failure model in docs/design.md
// is written from.
func timing(t *testing.T, what string, d time.Duration) {
	t.Helper()
	t.Logf("TIMING %s: %.1fs", what, d.Seconds())
}

// sessionDir returns /sys/class/iscsi_session/session<N> of the session
// to iqn, or "" when there is none.
func sessionDir(iqn string) string {
	dirs, _ := filepath.Glob("/sys/class/iscsi_session/session*")
	for _, dir := range dirs {
		if name, _ := os.ReadFile(filepath.Join(dir, "targetname")); strings.TrimSpace(string(name)) == iqn {
			return dir
		}
	}
	return ""
}

func readSys(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

// recoveryTimeout is the session's replacement timeout as the kernel has
// it (node.session.timeo.replacement_timeout of its node record).
func recoveryTimeout(t *testing.T, iqn string) time.Duration {
	t.Helper()
	dir := sessionDir(iqn)
	if dir == "" {
		t.Fatalf("no session to %s", iqn)
	}
	s, err := strconv.Atoi(readSys(filepath.Join(dir, "recovery_tmo")))
	if err != nil {
		t.Fatalf("recovery_tmo of %s: %v", dir, err)
	}
	return time.Duration(s) * time.Second
}

// shortenRecoveryTimeout sets the live session's replacement timeout, so
// an outage test waits seconds instead of minutes; the mechanism is the
// same, only the bound differs.
func shortenRecoveryTimeout(t *testing.T, iqn string, d time.Duration) {
	t.Helper()
	path := filepath.Join(sessionDir(iqn), "recovery_tmo")
	if err := os.WriteFile(path, []byte(strconv.Itoa(int(d/time.Second))), 0o644); err != nil {
		t.Fatalf("setting %s: %v", path, err)
	}
}

// diskOf returns the disk (sdX) of iqn's LUN 1 as the kernel has it
// (sysfs, not udev's by-path links, which lag behind), or "" when there is
// none.
func diskOf(iqn string) string {
	dir := sessionDir(iqn)
	if dir == "" {
		return ""
	}
	disks, _ := filepath.Glob(filepath.Join(dir, "device", "target*", "*:*:*:1", "block", "*"))
	if len(disks) == 0 {
		return ""
	}
	return filepath.Base(disks[0])
}

// diskState is the SCSI state of disk name (running, blocked,
// transport-offline).
func diskState(name string) string {
	return readSys(filepath.Join("/sys/block", name, "device", "state"))
}

// waitFor polls cond every 200 ms until it holds or timeout passes, and
// returns how long it took.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return time.Since(start)
}

// poll is waitFor without failing: it reports whether cond came true.
func poll(timeout time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			return time.Since(start), false
		}
		time.Sleep(200 * time.Millisecond)
	}
	return time.Since(start), true
}

// mountOptions returns the options /proc/mounts shows for the mount at
// path (the last one), or "" when nothing is mounted there. /proc/mounts
// says "ro" also when the kernel turned the filesystem read-only.
func mountOptions(path string) string {
	b, _ := os.ReadFile("/proc/mounts")
	opts := ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[1] == path {
			opts = f[3]
		}
	}
	return opts
}

func mountSourceOf(path string) string {
	b, _ := os.ReadFile("/proc/mounts")
	src := ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[1] == path {
			src = f[0]
		}
	}
	return src
}

// nothingLeftOf checks that the node holds nothing of v: no session, no
// iscsiadm node record, no disk, no stage record.
func nothingLeftOf(t *testing.T, v *lifecycle.Volume) {
	t.Helper()
	iqn := v.PublishContext["iqn"]
	if out, _ := exec.Command("iscsiadm", "-m", "session").CombinedOutput(); strings.Contains(string(out), iqn) {
		t.Errorf("session to %s left:\n%s", iqn, out)
	}
	if out, _ := exec.Command("iscsiadm", "-m", "node").CombinedOutput(); strings.Contains(string(out), iqn) {
		t.Errorf("iscsiadm node record of %s left:\n%s", iqn, out)
	}
	if dir := sessionDir(iqn); dir != "" {
		t.Errorf("the kernel still has session %s to %s", dir, iqn)
	}
	if disk := diskOf(iqn); disk != "" {
		t.Errorf("disk %s of %s left", disk, iqn)
	}
	out, _ := exec.Command("lsblk", "-o", "NAME,SERIAL,STATE").CombinedOutput()
	if strings.Contains(string(out), v.ID) {
		t.Errorf("lsblk still shows a disk with serial %s:\n%s", v.ID, out)
	}
	staged := filepath.Join(filepath.Dir(*root), "state", "node", "staged")
	if _, err := os.Stat(staged); err != nil {
		t.Errorf("the node's stage records are not where guest.sh puts them (%s): %v", staged, err)
	} else if _, err := os.Stat(filepath.Join(staged, v.ID+".json")); err == nil {
		t.Errorf("stage record of %s left", v.ID)
	}
}

// health asks the node for the volume's health and returns its one entry
// (nil when healthy).
func health(t *testing.T, d *lifecycle.Driver, v *lifecycle.Volume) *csi.VolumeHealth_VolumeHealthEntry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	resp, err := d.Node.NodeGetVolumeHealth(ctx, &csi.NodeGetVolumeHealthRequest{
		VolumeId: v.ID, StagingTargetPath: v.StagingPath, VolumePublishPath: v.TargetPath})
	if err != nil {
		t.Fatalf("NodeGetVolumeHealth: %v", err)
	}
	st := resp.GetVolumeHealth().GetHealthStatuses()
	switch len(st) {
	case 0:
		t.Logf("health of %s: healthy", v.ID)
		return nil
	case 1:
		t.Logf("health of %s: %s %s: %s", v.ID, st[0].GetStatus(), st[0].GetReason(), st[0].GetMessage())
		return st[0]
	}
	t.Fatalf("health of %s: %v, want at most one entry", v.ID, st)
	return nil
}

// canWrite reports whether a new file can be written and synced in dir.
func canWrite(dir string) error {
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("probe-%d", time.Now().UnixNano())))
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(make([]byte, 4096)); err != nil {
		return err
	}
	return f.Sync()
}

// kernelLog returns the last lines of the kernel log, for the test log.
func kernelLog(n int) string {
	out, _ := exec.Command("dmesg").CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// controllerHealth asks the controller for the volume's health and returns
// the reasons it gives (none when healthy).
func controllerHealth(t *testing.T, d *lifecycle.Driver, v *lifecycle.Volume) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	resp, err := d.Controller.ControllerGetVolumeHealth(ctx, &csi.ControllerGetVolumeHealthRequest{VolumeId: v.ID})
	if err != nil {
		t.Fatalf("ControllerGetVolumeHealth: %v", err)
	}
	var reasons []string
	for _, h := range resp.GetVolumeHealth().GetHealthStatuses() {
		t.Logf("controller health of %s: %s %s: %s", v.ID, h.GetStatus(), h.GetReason(), h.GetMessage())
		reasons = append(reasons, h.GetReason())
	}
	return reasons
}
