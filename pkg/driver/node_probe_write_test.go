package driver

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
)

// ext4 whose journal aborted after I/O errors refuses writes with EROFS
// while the mount table still says rw (seen in the e2e guest after a target
// outage): the write probe of a read-write staging mount finds it, health
// says ReadOnly, and a stage over it in use is refused with what to do.
func TestNodeReportsAStagingMountThatRefusesWrites(t *testing.T) {
	n := newNodeTest(t, nil)
	n.stageBroken(func(n *nodeTest, dev string) string { return dev }, true)
	var asked []bool
	n.srv.svc.probeMount = func(_ string, writable bool) error {
		asked = append(asked, writable)
		if writable {
			return fmt.Errorf("setting the times: %w", syscall.EROFS)
		}
		return nil
	}
	resp, err := n.srv.NodeGetVolumeHealth(t.Context(), &csi.NodeGetVolumeHealthRequest{VolumeId: nodeVolA})
	if err != nil {
		t.Fatal(err)
	}
	st := resp.GetVolumeHealth().GetHealthStatuses()
	if len(st) != 1 || st[0].GetReason() != "ReadOnly" || st[0].GetStatus() != csi.VolumeHealthErrorType_DEGRADED ||
		!strings.Contains(st[0].GetMessage(), "refuses writes") {
		t.Errorf("health %v, want DEGRADED ReadOnly saying it refuses writes", st)
	}
	if len(asked) == 0 || !asked[0] {
		t.Errorf("a read-write staging mount was probed with writable=%v, want true", asked)
	}
	_, err = n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeFsCap("ext4")))
	nodeWantCode(t, err, codes.Unavailable)
}

// The real probe leaves a healthy directory's times as they were.
func TestProbeFilesystemKeepsTheTimes(t *testing.T) {
	dir := t.TempDir()
	old := time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)
	if err := os.Chtimes(dir, old, old); err != nil {
		t.Fatal(err)
	}
	if err := probeFilesystem(dir, true); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !info.ModTime().Equal(old) {
		t.Errorf("mtime %v after the probe, want %v", info.ModTime(), old)
	}
}
