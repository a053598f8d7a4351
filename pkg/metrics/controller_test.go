package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
)

func TestControllerMetricsAreThePoolsFigures(t *testing.T) {
	stats := fullStats()
	calls := 0
	reg := prometheus.NewRegistry()
	NewController(reg, func() pool.Stats { calls++; return stats }, "vg0", "pool0")
	want := `
# HELP lvm_iscsi_csi_thin_pool_data_percent Share of the thin pool's data space in use (lvs data_percent). At 100 thin volumes' new writes fail or hang.
# TYPE lvm_iscsi_csi_thin_pool_data_percent gauge
lvm_iscsi_csi_thin_pool_data_percent{thin_pool="pool0",volume_group="vg0"} 81.5
# HELP lvm_iscsi_csi_thin_pool_metadata_percent Share of the thin pool's metadata space in use (lvs metadata_percent). At 100 the pool goes read-only.
# TYPE lvm_iscsi_csi_thin_pool_metadata_percent gauge
lvm_iscsi_csi_thin_pool_metadata_percent{thin_pool="pool0",volume_group="vg0"} 12.25
# HELP lvm_iscsi_csi_volume_group_free_bytes Unallocated space of the volume group: what thick volumes, COW snapshots and the thin pool can still take.
# TYPE lvm_iscsi_csi_volume_group_free_bytes gauge
lvm_iscsi_csi_volume_group_free_bytes{volume_group="vg0"} 4.294967296e+09
# HELP lvm_iscsi_csi_volumes Volumes of this driver by provisioning (snapshots and volumes being created or deleted not counted).
# TYPE lvm_iscsi_csi_volumes gauge
lvm_iscsi_csi_volumes{provisioning="thick",volume_group="vg0"} 1
lvm_iscsi_csi_volumes{provisioning="thin",volume_group="vg0"} 3
# HELP lvm_iscsi_csi_target_sessions Sessions (logged-in initiators) of each target of this driver.
# TYPE lvm_iscsi_csi_target_sessions gauge
lvm_iscsi_csi_target_sessions{target="iqn.2026-11.io.csi.lvm-iscsi:csi-a",volume_group="vg0"} 1
lvm_iscsi_csi_target_sessions{target="iqn.2026-11.io.csi.lvm-iscsi:csi-b",volume_group="vg0"} 0
# HELP lvm_iscsi_csi_reconcile_runs_total Reconcile passes, by result (ok, error).
# TYPE lvm_iscsi_csi_reconcile_runs_total counter
lvm_iscsi_csi_reconcile_runs_total{result="error",volume_group="vg0"} 1
lvm_iscsi_csi_reconcile_runs_total{result="ok",volume_group="vg0"} 4
# HELP lvm_iscsi_csi_reconcile_duration_seconds Time reconcile passes took (not counting the jobs they started).
# TYPE lvm_iscsi_csi_reconcile_duration_seconds summary
lvm_iscsi_csi_reconcile_duration_seconds_sum{volume_group="vg0"} 2.5
lvm_iscsi_csi_reconcile_duration_seconds_count{volume_group="vg0"} 5
# HELP lvm_iscsi_csi_jobs_running Long data jobs running, by kind: wipe (zeroing a deleted thick volume or snapshot), copy (filling a clone or restore), growth (zeroing a grown thick volume's new space).
# TYPE lvm_iscsi_csi_jobs_running gauge
lvm_iscsi_csi_jobs_running{kind="copy",volume_group="vg0"} 0
lvm_iscsi_csi_jobs_running{kind="growth",volume_group="vg0"} 0
lvm_iscsi_csi_jobs_running{kind="wipe",volume_group="vg0"} 1
`
	names := []string{"lvm_iscsi_csi_thin_pool_data_percent", "lvm_iscsi_csi_thin_pool_metadata_percent", "lvm_iscsi_csi_volume_group_free_bytes",
		"lvm_iscsi_csi_volumes", "lvm_iscsi_csi_target_sessions", "lvm_iscsi_csi_reconcile_runs_total", "lvm_iscsi_csi_reconcile_duration_seconds",
		"lvm_iscsi_csi_jobs_running"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		"lvm_iscsi_csi_targets":                             2,
		"lvm_iscsi_csi_published_volumes":                   2,
		"lvm_iscsi_csi_storage_host_read_timestamp_seconds": 1700000000,
		"lvm_iscsi_csi_data_zeroed_bytes_total":             1 << 20,
		"lvm_iscsi_csi_data_copied_bytes_total":             3 << 20,
	} {
		if got := gatheredValue(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if calls == 0 {
		t.Fatal("the pool's figures were never read")
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n < 20 {
		t.Fatalf("gathered %d series, %v", n, err)
	}
	// The metrics pass lint (names, units, help).
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// Before the first pass nothing is known of the host: no gauge claims a
// figure it does not have (a 0 would look like a full volume group).
func TestControllerMetricsBeforeTheFirstPass(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewController(reg, func() pool.Stats { return pool.Stats{} }, "vg0", "")
	for _, name := range []string{"lvm_iscsi_csi_volume_group_free_bytes", "lvm_iscsi_csi_volume_group_size_bytes",
		"lvm_iscsi_csi_thin_pool_data_percent", "lvm_iscsi_csi_volumes", "lvm_iscsi_csi_storage_host_read_timestamp_seconds"} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n != 0 {
			t.Errorf("%s: %d series (%v) before the first pass, want none", name, n, err)
		}
	}
	if got := gatheredValue(t, reg, "lvm_iscsi_csi_data_zeroed_bytes_total"); got != 0 {
		t.Errorf("zeroed bytes = %v, want 0", got)
	}
}

// gatheredValue is the value of the one series of a gauge or counter.
func gatheredValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		if len(f.Metric) != 1 {
			t.Fatalf("%s has %d series, want 1", name, len(f.Metric))
		}
		m := f.Metric[0]
		if m.Gauge != nil {
			return m.Gauge.GetValue()
		}
		return m.Counter.GetValue()
	}
	t.Fatalf("%s not gathered", name)
	return 0
}

// fullStats has every figure the controller's metrics show, so that each
// of them is emitted.
func fullStats() pool.Stats {
	return pool.Stats{
		AsOf:    time.Unix(1700000000, 0),
		VGKnown: true, VGSize: 10 << 30, VGFree: 4 << 30,
		ThinPoolKnown: true, ThinPoolSize: 2 << 30, ThinDataPercent: 81.5, ThinMetadataPercent: 12.25,
		Volumes:          map[pool.Provisioning]int{pool.Thin: 3, pool.Thick: 1},
		PublishedVolumes: 2,
		TargetSessions:   map[string]int{"iqn.2026-11.io.csi.lvm-iscsi:csi-a": 1, "iqn.2026-11.io.csi.lvm-iscsi:csi-b": 0},
		ReconcileRuns:    5, ReconcileFailures: 1, ReconcileSeconds: 2.5, LastReconcileSeconds: 0.5,
		Repairs:      map[string]uint64{pool.RepairTgtd: 7},
		JobsRunning:  map[string]int{pool.JobWipe: 1},
		JobsFinished: map[[2]string]uint64{{pool.JobCopy, "ok"}: 2},
		BytesZeroed:  1 << 20, BytesCopied: 3 << 20,
	}
}
