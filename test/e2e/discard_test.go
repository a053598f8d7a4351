//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

// A thin volume's disk must never be offered UNMAP or WRITE SAME with the
// UNMAP bit: tgt implements both as a hole punch that fails on an LV, and
// a failed WRITE SAME (ext4's background inode-table zeroing) made ext4
// abort its journal and remount read-only in the real-kernel runs. Here
// fstrim asks for discards directly: the kernel must see a disk without
// discard support (so nothing reaches tgt), log no I/O error for it, and
// the filesystem must stay writable.
func TestZeroingThroughAThinVolumeSucceeds(t *testing.T) {
	d, ctx := connect(t)
	v := create(t, d, ctx, lifecycle.MountCapability("ext4"), map[string]string{"provisioning": "thin"})
	if err := d.Up(ctx, v); err != nil {
		t.Fatal(err)
	}
	dev := strings.TrimSpace(run(t, "findmnt", "-n", "-o", "SOURCE", "--target", v.StagingPath))
	disk := filepath.Base(dev)
	before := fullKernelLog(t)

	discardMax, err := os.ReadFile(filepath.Join("/sys/block", disk, "queue/discard_max_bytes"))
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.TrimSpace(string(discardMax)); s != "0" {
		t.Errorf("%s offers discard (discard_max_bytes %s): UNMAP would reach tgt, which cannot serve it on an LV", disk, s)
	}
	// Expected to fail with "not supported"; what matters is what it does
	// to the disk.
	out, _ := exec.Command("fstrim", "-v", v.TargetPath).CombinedOutput()
	t.Logf("fstrim: %s", strings.TrimSpace(string(out)))
	writeData(t, v.DataPath(), 1<<20)

	after := strings.TrimPrefix(fullKernelLog(t), before)
	for _, line := range strings.Split(after, "\n") {
		if strings.Contains(line, disk) && (strings.Contains(line, "I/O error") || strings.Contains(line, "critical target error") || strings.Contains(line, "EXT4-fs error")) {
			t.Errorf("kernel log: %s", line)
		}
	}
	if opts := run(t, "findmnt", "-n", "-o", "OPTIONS", "--target", v.StagingPath); !strings.HasPrefix(strings.TrimSpace(opts), "rw") {
		t.Fatalf("the filesystem went read-only: %s", opts)
	}
}

func fullKernelLog(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("dmesg").Output()
	if err != nil {
		t.Fatalf("dmesg: %v", err)
	}
	return string(out)
}
