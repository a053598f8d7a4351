//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

// The recommended thin pool setup (docs/snapshots-and-expansion.md, "Thin
// pool space"): lvm's autoextend settings with dmeventd monitoring the pool.
// Written past its threshold, the pool grows by itself, and thin volumes the
// controller refused for want of room are provisioned again, with nobody
// running lvextend. The settings come from a metadata profile attached to
// the pool (the per-pool form of the same lvm.conf settings), so no other
// pool of the guest changes.
func TestThinPoolAutoextendKeepsProvisioning(t *testing.T) {
	h := newPrivateHost(t, "licae", 256*mib)
	profile := fmt.Sprintf("licautoextend%d", os.Getpid())
	profilePath := filepath.Join("/etc/lvm/profile", profile+".profile")
	if err := os.MkdirAll(filepath.Dir(profilePath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(profilePath, []byte("activation {\n\tthin_pool_autoextend_threshold = 70\n\tthin_pool_autoextend_percent = 50\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(profilePath) })
	const poolSize = 32 * mib
	lvm(t, "lvcreate", "-y", "--type", "thin-pool", "-n", "pool", "-L", strconv.Itoa(poolSize/mib)+"m",
		"--metadataprofile", profile, "--monitor", "y", h.vg)
	pool := h.vg + "/pool"
	if mon := strings.TrimSpace(lvm(t, "lvs", "--noheadings", "-o", "seg_monitor", pool)); mon != "monitored" {
		t.Fatalf("dmeventd does not monitor %s (seg_monitor %q): autoextend cannot work", pool, mon)
	}
	poolBytes := func() int64 {
		t.Helper()
		out := strings.TrimSpace(lvm(t, "lvs", "--noheadings", "--units", "b", "--nosuffix", "-o", "lv_size", pool))
		n, err := strconv.ParseInt(out, 10, 64)
		if err != nil {
			t.Fatalf("lv_size of %s: %q: %v", pool, out, err)
		}
		return n
	}

	p, logPath, _ := h.startController(t)
	awaitReady(t, p, logPath)
	c := csi.NewControllerClient(p.conn)
	createThin := func(name string, size int64) (*csi.Volume, error) {
		resp, err := c.CreateVolume(callContext(t), &csi.CreateVolumeRequest{
			Name: name, CapacityRange: &csi.CapacityRange{RequiredBytes: size},
			VolumeCapabilities: []*csi.VolumeCapability{lifecycle.BlockCapability()},
			Parameters:         map[string]string{"provisioning": "thin"},
		})
		return resp.GetVolume(), err
	}

	// 24 MiB of 32 are promised; 16 more exceed the pool (overprovision
	// ratio 1), so the controller refuses them.
	first, err := createThin("autoextend-1", 24*mib)
	if err != nil {
		t.Fatalf("CreateVolume (24 MiB thin in a 32 MiB pool): %v", err)
	}
	if _, err := createThin("autoextend-2", 16*mib); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("CreateVolume past the pool's size = %v, want ResourceExhausted", err)
	}

	// Fill the first volume: 75 % of the pool's data, past the profile's
	// threshold of 70.
	run(t, "dd", "if=/dev/urandom", "of=/dev/"+h.vg+"/"+first.GetVolumeId(), "bs=1M", "count=24", "oflag=direct", "status=none")
	for deadline := time.Now().Add(2 * time.Minute); poolBytes() <= poolSize; time.Sleep(2 * time.Second) {
		if time.Now().After(deadline) {
			t.Fatalf("the pool did not grow within 2 minutes of passing its autoextend threshold:\n%s",
				lvm(t, "lvs", "-a", "-o", "lv_name,lv_size,data_percent,metadata_percent,seg_monitor", h.vg))
		}
	}
	t.Logf("the pool grew to %d MiB", poolBytes()/mib)

	if _, err := createThin("autoextend-2", 16*mib); err != nil {
		t.Fatalf("CreateVolume after the pool grew: %v", err)
	}
}
