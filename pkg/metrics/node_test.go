package metrics

import (
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestNodeMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewNode(reg, NodeSource{
		StagedVolumes:   func() (int, error) { return 3, nil },
		SessionsByState: func() (map[string]int, error) { return map[string]int{"LOGGED_IN": 2, "FAILED": 1}, nil },
	})
	want := `
# HELP lvm_iscsi_csi_node_iscsi_sessions iSCSI sessions of this node to this driver's targets, by kernel state: LOGGED_IN; FAILED (connection lost, reconnecting; I/O waits up to the replacement timeout); FREE (being torn down).
# TYPE lvm_iscsi_csi_node_iscsi_sessions gauge
lvm_iscsi_csi_node_iscsi_sessions{state="FAILED"} 1
lvm_iscsi_csi_node_iscsi_sessions{state="FREE"} 0
lvm_iscsi_csi_node_iscsi_sessions{state="LOGGED_IN"} 2
# HELP lvm_iscsi_csi_node_staged_volumes Volumes staged on this node (logged in and mounted at their staging path, or on their way there or back).
# TYPE lvm_iscsi_csi_node_staged_volumes gauge
lvm_iscsi_csi_node_staged_volumes 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

// A figure that cannot be read fails the scrape of that metric, loudly,
// rather than reporting 0.
func TestNodeMetricsReportAnUnreadableFigure(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewNode(reg, NodeSource{
		StagedVolumes:   func() (int, error) { return 0, errors.New("permission denied") },
		SessionsByState: func() (map[string]int, error) { return map[string]int{}, nil },
	})
	families, err := reg.Gather()
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("Gather error = %v, want the unreadable figure's", err)
	}
	for _, f := range families {
		if f.GetName() == "lvm_iscsi_csi_node_staged_volumes" {
			t.Fatalf("the unreadable figure was reported: %v", f)
		}
	}
}
