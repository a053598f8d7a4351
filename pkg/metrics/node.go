package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// NodeSource is where the node's figures come from; both are read at
// every scrape, so both must be cheap (a directory listing, a few sysfs
// files: no iscsiadm).
type NodeSource struct {
	// StagedVolumes counts the volumes staged on this node.
	StagedVolumes func() (int, error)
	// SessionsByState counts this driver's iSCSI sessions by kernel state.
	SessionsByState func() (map[string]int, error)
}

// sessionStates are always reported, 0 when none, so an alert on FAILED
// has a series to look at.
var sessionStates = []string{"LOGGED_IN", "FAILED", "FREE"}

// Node turns the node's figures into metrics at scrape time. Stage and
// unstage latency are the RPC histogram's NodeStageVolume and
// NodeUnstageVolume series.
type Node struct {
	src              NodeSource
	staged, sessions *prometheus.Desc
}

// NewNode registers the node's metrics on reg.
func NewNode(reg prometheus.Registerer, src NodeSource) *Node {
	n := &Node{
		src:      src,
		staged:   prometheus.NewDesc(namespace+"_node_staged_volumes", "Volumes staged on this node (logged in and mounted at their staging path, or on their way there or back).", nil, nil),
		sessions: prometheus.NewDesc(namespace+"_node_iscsi_sessions", "iSCSI sessions of this node to this driver's targets, by kernel state: LOGGED_IN; FAILED (connection lost, reconnecting; I/O waits up to the replacement timeout); FREE (being torn down).", []string{"state"}, nil),
	}
	reg.MustRegister(n)
	return n
}

// Describe implements prometheus.Collector.
func (n *Node) Describe(ch chan<- *prometheus.Desc) { ch <- n.staged; ch <- n.sessions }

// Collect implements prometheus.Collector. A figure that cannot be read is
// reported as a scrape error of that metric only.
func (n *Node) Collect(ch chan<- prometheus.Metric) {
	if staged, err := n.src.StagedVolumes(); err != nil {
		ch <- prometheus.NewInvalidMetric(n.staged, err)
	} else {
		ch <- prometheus.MustNewConstMetric(n.staged, prometheus.GaugeValue, float64(staged))
	}
	counts, err := n.src.SessionsByState()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(n.sessions, err)
		return
	}
	seen := map[string]bool{}
	for _, state := range sessionStates {
		seen[state] = true
		ch <- prometheus.MustNewConstMetric(n.sessions, prometheus.GaugeValue, float64(counts[state]), state)
	}
	for state, c := range counts {
		if !seen[state] {
			ch <- prometheus.MustNewConstMetric(n.sessions, prometheus.GaugeValue, float64(c), state)
		}
	}
}
