//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

// cacheType is what the node's SCSI disk driver read from the LUN's
// caching mode page for the block device at path: "write back" or "write
// through".
func cacheType(t *testing.T, path string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	m, _ := filepath.Glob(fmt.Sprintf("/sys/dev/block/%d:%d/device/scsi_disk/*/cache_type", unix.Major(st.Rdev), unix.Minor(st.Rdev)))
	if len(m) != 1 {
		t.Fatalf("no cache_type for %s: %v", path, m)
	}
	b, err := os.ReadFile(m[0])
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// writeCache=off reaches the node as a write-through disk, and the LUN the
// reconciler rebuilds after a tgtd restart is write through again (a new
// stage reads the mode page afresh); the data reads back.
func TestWriteCacheOffReachesTheNodesDiskAlsoAfterATgtdRestart(t *testing.T) {
	if *restartTgtd == "" {
		t.Fatal("-restart-tgtd is required")
	}
	d, ctx := connect(t)
	v := create(t, d, ctx, lifecycle.BlockCapability(), map[string]string{"provisioning": "thin", "writeCache": "off"})
	if err := d.Up(ctx, v); err != nil {
		t.Fatal(err)
	}
	if got := cacheType(t, v.DataPath()); got != "write through" {
		t.Fatalf("writeCache=off: the node's disk is %q, want write through", got)
	}
	// Written and synced through the write-through LUN before the restart,
	// and read back after it.
	want := writeData(t, v.DataPath(), 4<<20)
	// The first run of this test killed tgtd a second after the login,
	// without this write, and the reconciler's first lvs then hung for
	// 60 s, until the test gave up and the node logged out; the restart
	// tests that write first did not hang in the same run. The cause is
	// not known yet (a probe of the new disk still under way when its
	// session went down is the guess): let udev finish with the disk, so
	// this test is about the write cache.
	run(t, "udevadm", "settle")
	iqn := v.PublishContext["iqn"]
	logOffset := iscsidLogSize()
	run(t, *restartTgtd)
	awaitTargetRebuilt(t, ctx, iqn)
	awaitSessionAfterTargetRestart(t, iqn, logOffset)
	if err := d.Down(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := d.Up(ctx, v); err != nil {
		t.Fatal(err)
	}
	if got := cacheType(t, v.DataPath()); got != "write through" {
		t.Errorf("after the tgtd restart: the node's disk is %q, want write through", got)
	}
	if !bytes.Equal(readData(t, v.DataPath(), len(want)), want) {
		t.Fatal("data written through the write-through LUN does not read back")
	}
}
