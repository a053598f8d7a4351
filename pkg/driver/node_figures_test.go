package driver

import (
	"maps"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
)

func TestStagedVolumesCountsStageRecords(t *testing.T) {
	n := newNodeTest(t, nil)
	if got, err := n.srv.StagedVolumes(); err != nil || got != 0 {
		t.Fatalf("before any stage: %d, %v; want 0", got, err)
	}
	n.disks.add(t, nodeVolA, nodeVolA)
	n.stage(nodeVolA, nodeVolA, nodeBlockCap())
	if got, err := n.srv.StagedVolumes(); err != nil || got != 1 {
		t.Fatalf("after a stage: %d, %v; want 1", got, err)
	}
	if _, err := n.srv.NodeUnstageVolume(t.Context(), n.unstageReq(nodeVolA)); err != nil {
		t.Fatal(err)
	}
	if got, err := n.srv.StagedVolumes(); err != nil || got != 0 {
		t.Fatalf("after the unstage: %d, %v; want 0", got, err)
	}
}

func TestSessionsByStateCountsOnlyOurTargets(t *testing.T) {
	got := SessionsByState([]iscsi.SessionState{
		{Target: nodeIQN(nodeVolA), State: "LOGGED_IN"},
		{Target: "iqn.2026-11.other.prefix:" + nodeVolA, State: "FAILED"}, // another prefix, still one of ours
		{Target: "iqn.2003-01.org.linux-iscsi.nas:backup", State: "LOGGED_IN"},
	})
	if want := map[string]int{"LOGGED_IN": 1, "FAILED": 1}; !maps.Equal(got, want) {
		t.Fatalf("SessionsByState = %v, want %v", got, want)
	}
}
