package pool

import (
	"context"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// Stats is what the pool last saw of the storage host and what it has done
// since it started, for metrics. Reading it runs no command: the storage
// host's figures are those of the last reconcile pass (AsOf), so a metrics
// scrape never adds an lvs or a tgtadm to a busy host.
type Stats struct {
	// AsOf is when the last reconcile pass read the host; zero before
	// the first one. The figures below it are of that reading.
	AsOf time.Time
	// VGKnown: the pass read the volume group (VGSize, VGFree).
	VGKnown        bool
	VGSize, VGFree uint64
	// ThinPoolKnown: a thin pool is configured and was in the listing.
	ThinPoolKnown                        bool
	ThinPoolSize                         uint64
	ThinDataPercent, ThinMetadataPercent float64
	// Volumes counts the volumes (not snapshots, not being deleted or
	// created) by provisioning; PublishedVolumes those published to at
	// least one node.
	Volumes          map[Provisioning]int
	PublishedVolumes int
	// TargetSessions is, for each of our targets in tgtd, its sessions.
	TargetSessions map[string]int

	// Since start-up.
	ReconcileRuns, ReconcileFailures uint64
	ReconcileSeconds                 float64 // total time of the runs
	LastReconcileSeconds             float64
	// Repairs counts what reconcile passes changed: "tgtd" changes
	// (targets, LUNs, ACLs, accounts, sessions closed) and
	// "unfinished_work" (wipes, removals, zeroing started as jobs).
	Repairs map[string]uint64

	// JobsRunning counts running jobs by kind (jobKind); JobsFinished by
	// kind and result ("ok", "error").
	JobsRunning  map[string]int
	JobsFinished map[[2]string]uint64
	// BytesZeroed and BytesCopied count the data zeroed (wipes, the new
	// space of grown volumes and clones) and copied (clones) by finished
	// commands.
	BytesZeroed, BytesCopied uint64
}

// Repair kinds of Stats.Repairs.
const (
	RepairTgtd           = "tgtd"
	RepairUnfinishedWork = "unfinished_work"
)

// Job kinds of Stats.JobsRunning and JobsFinished.
const (
	JobWipe   = "wipe"   // wiping and removing a deleted volume or snapshot
	JobGrowth = "growth" // zeroing the new space of a grown thick volume
	JobCopy   = "copy"   // filling a clone or restore (or removing what an interrupted one left)
)

// jobKind tells the kind of a job from its key (deleteJob, growJob; a
// clone's job is keyed by the new volume's id).
func jobKind(key string) string {
	switch {
	case strings.HasPrefix(key, "delete\x00"):
		return JobWipe
	case strings.HasPrefix(key, "grow\x00"):
		return JobGrowth
	}
	return JobCopy
}

// stats is where the pool keeps Stats. Its zero value is ready.
type stats struct {
	mu  sync.Mutex
	cur Stats
	// tgtChanges counts every change made to tgtd (countingTgt); a pass
	// holds tgtMu, so what it adds meanwhile are the pass's repairs.
	tgtChanges               atomic.Uint64
	bytesZeroed, bytesCopied atomic.Uint64
}

// Stats returns a copy of the pool's figures.
func (p *Pool) Stats() Stats {
	p.stats.mu.Lock()
	s := p.stats.cur
	s.Volumes = maps.Clone(s.Volumes)
	s.TargetSessions = maps.Clone(s.TargetSessions)
	s.Repairs = maps.Clone(s.Repairs)
	p.stats.mu.Unlock()
	s.JobsRunning, s.JobsFinished = p.jobs.counts()
	s.BytesZeroed, s.BytesCopied = p.stats.bytesZeroed.Load(), p.stats.bytesCopied.Load()
	return s
}

// recordListing keeps what a reconcile pass saw: the LVs and our targets.
func (p *Pool) recordListing(lvs []lvm.LV, targets []tgt.Target, tgtRepairs uint64) {
	volumes := map[Provisioning]int{}
	published := 0
	var pool *lvm.LV
	for i := range lvs {
		if p.cfg.ThinPool != "" && lvs[i].Name == p.cfg.ThinPool {
			pool = &lvs[i]
		}
		v, _, ok := volumeFromLV(&lvs[i])
		if !ok {
			continue
		}
		volumes[v.Provisioning]++
		if len(v.Nodes) > 0 {
			published++
		}
	}
	sessions := map[string]int{}
	for _, t := range targets {
		if p.ourTarget(t.IQN) != "" {
			sessions[t.IQN] = len(t.Sessions)
		}
	}
	p.stats.mu.Lock()
	defer p.stats.mu.Unlock()
	s := &p.stats.cur
	s.AsOf = time.Now()
	s.Volumes, s.PublishedVolumes, s.TargetSessions = volumes, published, sessions
	s.ThinPoolKnown = pool != nil
	if pool != nil {
		s.ThinPoolSize, s.ThinDataPercent, s.ThinMetadataPercent = pool.Size, pool.DataPercent, pool.MetadataPercent
	}
	s.addRepairs(RepairTgtd, tgtRepairs)
}

// recordVG reads the volume group for the figures (once a pass).
func (p *Pool) recordVG(ctx context.Context) {
	vg, err := p.lvm.GetVG(ctx, p.cfg.VolumeGroup)
	if err == nil {
		p.noteVG(vg) // the extent size, for the next calls (vgfacts.go)
	}
	p.stats.mu.Lock()
	defer p.stats.mu.Unlock()
	s := &p.stats.cur
	s.VGKnown = err == nil
	if err != nil {
		klog.ErrorS(err, "Cannot read the volume group for the metrics", "volumeGroup", p.cfg.VolumeGroup)
		return
	}
	s.VGSize, s.VGFree = vg.Size, vg.Free
}

// recordReconcile counts one reconcile run and the work it started.
func (p *Pool) recordReconcile(took time.Duration, err error, workStarted int) {
	p.stats.mu.Lock()
	defer p.stats.mu.Unlock()
	s := &p.stats.cur
	s.ReconcileRuns++
	if err != nil {
		s.ReconcileFailures++
	}
	s.ReconcileSeconds += took.Seconds()
	s.LastReconcileSeconds = took.Seconds()
	s.addRepairs(RepairUnfinishedWork, uint64(workStarted))
}

func (s *Stats) addRepairs(kind string, n uint64) {
	if s.Repairs == nil {
		s.Repairs = map[string]uint64{}
	}
	s.Repairs[kind] += n
}

// countingTgt counts the changes made to tgtd.
type countingTgt struct {
	tgt.Interface
	changes *atomic.Uint64
}

func (c countingTgt) count(err error) error {
	if err == nil {
		c.changes.Add(1)
	}
	return err
}

func (c countingTgt) CreateTarget(ctx context.Context, tid int, iqn string) error {
	return c.count(c.Interface.CreateTarget(ctx, tid, iqn))
}
func (c countingTgt) DeleteTarget(ctx context.Context, tid int) error {
	return c.count(c.Interface.DeleteTarget(ctx, tid))
}
func (c countingTgt) AddLUN(ctx context.Context, tid, lun int, backingStore string, lp tgt.LUNParams) error {
	return c.count(c.Interface.AddLUN(ctx, tid, lun, backingStore, lp))
}
func (c countingTgt) DeleteLUN(ctx context.Context, tid, lun int) error {
	return c.count(c.Interface.DeleteLUN(ctx, tid, lun))
}
func (c countingTgt) RefreshLUN(ctx context.Context, tid, lun int, backingStore string) error {
	return c.count(c.Interface.RefreshLUN(ctx, tid, lun, backingStore))
}
func (c countingTgt) BindInitiator(ctx context.Context, tid int, iqn string) error {
	return c.count(c.Interface.BindInitiator(ctx, tid, iqn))
}
func (c countingTgt) UnbindInitiator(ctx context.Context, tid int, iqn string) error {
	return c.count(c.Interface.UnbindInitiator(ctx, tid, iqn))
}
func (c countingTgt) CreateAccount(ctx context.Context, user, password string) error {
	return c.count(c.Interface.CreateAccount(ctx, user, password))
}
func (c countingTgt) DeleteAccount(ctx context.Context, user string) error {
	return c.count(c.Interface.DeleteAccount(ctx, user))
}
func (c countingTgt) BindAccount(ctx context.Context, tid int, user string) error {
	return c.count(c.Interface.BindAccount(ctx, tid, user))
}
func (c countingTgt) CloseConnection(ctx context.Context, tid, sid, cid int) error {
	return c.count(c.Interface.CloseConnection(ctx, tid, sid, cid))
}
func (c countingTgt) SetTargetState(ctx context.Context, tid int, state string) error {
	return c.count(c.Interface.SetTargetState(ctx, tid, state))
}
func (c countingTgt) SetTargetParams(ctx context.Context, tid int, params []tgt.TargetParam) error {
	return c.count(c.Interface.SetTargetParams(ctx, tid, params))
}

// countingBlocks counts the bytes zeroed and copied by finished commands.
// A whole-LV Zero names no size; its callers count it (countZeroed).
type countingBlocks struct {
	BlockDevices
	st *stats
}

func (c countingBlocks) ZeroRange(ctx context.Context, device string, offset, length uint64) error {
	err := c.BlockDevices.ZeroRange(ctx, device, offset, length)
	if err == nil {
		c.st.bytesZeroed.Add(length)
	}
	return err
}

func (c countingBlocks) Copy(ctx context.Context, src, dst string, size uint64, sparse bool) error {
	err := c.BlockDevices.Copy(ctx, src, dst, size, sparse)
	if err == nil {
		c.st.bytesCopied.Add(size)
	}
	return err
}

// countZeroed counts a whole LV zeroed by Zero.
func (p *Pool) countZeroed(size uint64) { p.stats.bytesZeroed.Add(size) }
