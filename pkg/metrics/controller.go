package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
)

// Controller turns the pool's figures into metrics at scrape time. The
// pool's Stats run no command: the storage host's gauges are those its
// last reconcile pass read (every --reconcile-interval), so scrapes never
// add lvm or tgtadm work to a busy host; storage_host_read_timestamp_seconds
// says how old they are.
type Controller struct {
	stats                 func() pool.Stats
	volumeGroup, thinPool string

	readAt, vgSize, vgFree                    *prometheus.Desc
	thinSize, thinData, thinMeta              *prometheus.Desc
	volumes, published, targets, sessions     *prometheus.Desc
	reconcileRuns, reconcileDuration          *prometheus.Desc
	reconcileLast, repairs                    *prometheus.Desc
	jobsRunning, jobsFinished, zeroed, copied *prometheus.Desc
}

// NewController registers the controller's metrics on reg; stats is the
// pool's Stats, volumeGroup and thinPool ("" when none) label its gauges.
func NewController(reg prometheus.Registerer, stats func() pool.Stats, volumeGroup, thinPool string) *Controller {
	vg := prometheus.Labels{"volume_group": volumeGroup}
	tp := prometheus.Labels{"volume_group": volumeGroup, "thin_pool": thinPool}
	d := func(name, help string, labels []string, constLabels prometheus.Labels) *prometheus.Desc {
		return prometheus.NewDesc(namespace+"_"+name, help, labels, constLabels)
	}
	c := &Controller{
		stats: stats, volumeGroup: volumeGroup, thinPool: thinPool,
		readAt:            d("storage_host_read_timestamp_seconds", "When the last reconcile pass read the storage host; the volume group, thin pool, volume and target gauges are as of then.", nil, vg),
		vgSize:            d("volume_group_size_bytes", "Size of the volume group.", nil, vg),
		vgFree:            d("volume_group_free_bytes", "Unallocated space of the volume group: what thick volumes, COW snapshots and the thin pool can still take.", nil, vg),
		thinSize:          d("thin_pool_size_bytes", "Size of the thin pool's data.", nil, tp),
		thinData:          d("thin_pool_data_percent", "Share of the thin pool's data space in use (lvs data_percent). At 100 thin volumes' new writes fail or hang.", nil, tp),
		thinMeta:          d("thin_pool_metadata_percent", "Share of the thin pool's metadata space in use (lvs metadata_percent). At 100 the pool goes read-only.", nil, tp),
		volumes:           d("volumes", "Volumes of this driver by provisioning (snapshots and volumes being created or deleted not counted).", []string{"provisioning"}, vg),
		published:         d("published_volumes", "Volumes published to at least one node.", nil, vg),
		targets:           d("targets", "iSCSI targets of this driver in tgtd (one per published volume).", nil, vg),
		sessions:          d("target_sessions", "Sessions (logged-in initiators) of each target of this driver.", []string{"target"}, vg),
		reconcileRuns:     d("reconcile_runs_total", "Reconcile passes, by result (ok, error).", []string{"result"}, vg),
		reconcileDuration: d("reconcile_duration_seconds", "Time reconcile passes took (not counting the jobs they started).", nil, vg),
		reconcileLast:     d("reconcile_last_duration_seconds", "Time the last reconcile pass took.", nil, vg),
		repairs:           d("reconcile_repairs_total", "What reconcile passes repaired: tgtd changes (targets, LUNs, ACLs, CHAP accounts, sessions closed) and unfinished work started (wipes, removals, zeroing).", []string{"kind"}, vg),
		jobsRunning:       d("jobs_running", "Long data jobs running, by kind: wipe (zeroing a deleted thick volume or snapshot), copy (filling a clone or restore), growth (zeroing a grown thick volume's new space).", []string{"kind"}, vg),
		jobsFinished:      d("jobs_finished_total", "Long data jobs finished, by kind and result (ok, error).", []string{"kind", "result"}, vg),
		zeroed:            d("data_zeroed_bytes_total", "Bytes zeroed by finished wipes and zeroings.", nil, vg),
		copied:            d("data_copied_bytes_total", "Bytes copied by finished clones and restores.", nil, vg),
	}
	reg.MustRegister(c)
	return c
}

// Describe implements prometheus.Collector.
func (c *Controller) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

// Collect implements prometheus.Collector.
func (c *Controller) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	if !s.AsOf.IsZero() {
		gauge(c.readAt, float64(s.AsOf.UnixNano())/1e9)
		gauge(c.volumes, float64(s.Volumes[pool.Thin]), string(pool.Thin))
		gauge(c.volumes, float64(s.Volumes[pool.Thick]), string(pool.Thick))
		gauge(c.published, float64(s.PublishedVolumes))
		gauge(c.targets, float64(len(s.TargetSessions)))
		for iqn, n := range s.TargetSessions {
			gauge(c.sessions, float64(n), iqn)
		}
	}
	if s.VGKnown {
		gauge(c.vgSize, float64(s.VGSize))
		gauge(c.vgFree, float64(s.VGFree))
	}
	if c.thinPool != "" && s.ThinPoolKnown {
		gauge(c.thinSize, float64(s.ThinPoolSize))
		gauge(c.thinData, s.ThinDataPercent)
		gauge(c.thinMeta, s.ThinMetadataPercent)
	}
	counter(c.reconcileRuns, float64(s.ReconcileRuns-s.ReconcileFailures), "ok")
	counter(c.reconcileRuns, float64(s.ReconcileFailures), "error")
	ch <- prometheus.MustNewConstSummary(c.reconcileDuration, s.ReconcileRuns, s.ReconcileSeconds, nil)
	if s.ReconcileRuns > 0 {
		gauge(c.reconcileLast, s.LastReconcileSeconds)
	}
	for _, kind := range []string{pool.RepairTgtd, pool.RepairUnfinishedWork} {
		counter(c.repairs, float64(s.Repairs[kind]), kind)
	}
	for _, kind := range []string{pool.JobWipe, pool.JobCopy, pool.JobGrowth} {
		gauge(c.jobsRunning, float64(s.JobsRunning[kind]), kind)
		for _, result := range []string{"ok", "error"} {
			counter(c.jobsFinished, float64(s.JobsFinished[[2]string{kind, result}]), kind, result)
		}
	}
	counter(c.zeroed, float64(s.BytesZeroed))
	counter(c.copied, float64(s.BytesCopied))
}
