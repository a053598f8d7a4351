package main

import "testing"

const sampleMetrics = `# HELP lvm_iscsi_csi_reconcile_runs_total Reconcile passes, by result (ok, error).
# TYPE lvm_iscsi_csi_reconcile_runs_total counter
lvm_iscsi_csi_reconcile_runs_total{result="error",volume_group="vg0"} 1
lvm_iscsi_csi_reconcile_runs_total{result="ok",volume_group="vg0"} 12
# HELP lvm_iscsi_csi_reconcile_last_duration_seconds Time the last reconcile pass took.
# TYPE lvm_iscsi_csi_reconcile_last_duration_seconds gauge
lvm_iscsi_csi_reconcile_last_duration_seconds{volume_group="vg0"} 3.25e-01
lvm_iscsi_csi_reconcile_last_duration_seconds_extra 99
lvm_iscsi_csi_reconcile_duration_seconds_sum{volume_group="vg0"} 7
`

func TestMetricValue(t *testing.T) {
	for _, tc := range []struct {
		name, label string
		want        float64
	}{
		{"lvm_iscsi_csi_reconcile_runs_total", `result="ok"`, 12},
		{"lvm_iscsi_csi_reconcile_runs_total", `result="error"`, 1},
		{"lvm_iscsi_csi_reconcile_last_duration_seconds", "", 0.325},
		{"lvm_iscsi_csi_reconcile_duration_seconds_sum", "", 7},
	} {
		got, err := metricValue(sampleMetrics, tc.name, tc.label)
		if err != nil || got != tc.want {
			t.Errorf("metricValue(%s, %s) = %v, %v; want %v", tc.name, tc.label, got, err, tc.want)
		}
	}
}

func TestMetricValueMissing(t *testing.T) {
	for _, tc := range []struct{ name, label string }{
		{"lvm_iscsi_csi_reconcile_runs", ""}, // a prefix of a metric is not the metric
		{"lvm_iscsi_csi_reconcile_runs_total", `result="unknown"`},
		{"lvm_iscsi_csi_nosuch", ""},
	} {
		if v, err := metricValue(sampleMetrics, tc.name, tc.label); err == nil {
			t.Errorf("metricValue(%s, %s) = %v, want an error", tc.name, tc.label, v)
		}
	}
}
