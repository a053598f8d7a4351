//go:build e2e

package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

// The node falls back to asking the disk for its unit serial page (SCSI
// INQUIRY through SG_IO) when sysfs has no copy, as once happened in this
// guest to a freshly logged-in disk. The disk's answer must be the very
// page the kernel cached, and name the volume.
func TestDiskAnswersTheSerialPageSysfsCaches(t *testing.T) {
	d, ctx := connect(t)
	v := create(t, d, ctx, lifecycle.BlockCapability(), nil)
	if err := d.Up(ctx, v); err != nil {
		t.Fatal(err)
	}
	disk := diskOf(v.PublishContext["iqn"])
	if disk == "" {
		t.Fatalf("no disk for %s", v.PublishContext["iqn"])
	}
	cached, err := os.ReadFile(filepath.Join("/sys/block", disk, "device", "vpd_pg80"))
	if err != nil {
		t.Fatal(err)
	}
	asked, err := iscsi.InquireSerialPage(filepath.Join("/dev", disk))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(asked, cached) {
		t.Fatalf("INQUIRY page 0x80 of /dev/%s = %q, sysfs has %q", disk, asked, cached)
	}
	if !bytes.Contains(asked, []byte(v.ID)) {
		t.Fatalf("the serial page %q does not name volume %s", asked, v.ID)
	}
}
