package pool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// Reconcile makes tgtd match the LV tags (FAQ 3.3 in docs/design.md: targets and
// LVs left over by half-done operations, cleaned by hand): every published
// volume's target, LUN, serial, CHAP account and ACL are recreated; targets
// of ours that no published LV backs are removed; deletions a crash
// interrupted are finished, and so are expansions whose new space is not
// zeroed yet (their LUN is refreshed or rebuilt only then). Targets and
// accounts that are not ours are never touched. Errors on one volume do
// not stop the others. Reconcile waits for the long work it starts
// (wipes); RunReconciler does not.
func (p *Pool) Reconcile(ctx context.Context) error {
	start := time.Now()
	work, err := p.reconcileExports(ctx)
	p.recordReconcile(time.Since(start), err, len(work))
	errs := []error{err}
	for _, w := range work {
		if err := p.jobs.run(ctx, w.key, w.fn); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", w.what, err))
		}
	}
	return errors.Join(errs...)
}

// unfinishedWork is work a crash or an abandoned request left, found by
// reconcileExports: wiping and removing LVs, zeroing new space. It can take
// hours on a large thick volume, so it runs as a job keyed as the request
// that started it would key it (a retry joins it instead of starting over).
type unfinishedWork struct {
	key, what string
	fn        func(context.Context) error
}

// byKey folds work that shares a job key into one piece running them in
// order: a clone's half-filled LV and its scratch snapshot are both removed
// under the clone's key, and a job already running under a key takes no
// second one (jobs.start), so the second would wait for the next pass.
func byKey(work []unfinishedWork) []unfinishedWork {
	var out []unfinishedWork
	at := map[string]int{}
	for _, w := range work {
		i, ok := at[w.key]
		if !ok {
			at[w.key] = len(out)
			out = append(out, w)
			continue
		}
		first, next := out[i].fn, w.fn
		out[i].what += ", " + w.what
		out[i].fn = func(ctx context.Context) error { return errors.Join(first(ctx), next(ctx)) }
	}
	return out
}

// reconcileExports brings tgtd in line with the LV tags and returns what is
// left to finish, without doing it.
func (p *Pool) reconcileExports(ctx context.Context) ([]unfinishedWork, error) {
	var lvs []lvm.LV
	var errs []error
	var unfinished, growing []int
	var leftovers []leftover
	var snapDeletes []string
	exported := map[string]bool{}
	// The volume group's size and free space, for the metrics: one vgs
	// a pass instead of one a scrape, read once tgtd is healed (after a
	// tgtd restart, every session waits for the rebuild, not for this).
	defer p.recordVG(ctx)
	err := p.withTgt(ctx, func(st *tgtState) error {
		// The tags are read under tgtMu: a publish that recorded its tag
		// and is waiting for the lock is then either seen here or applies
		// its own change after us, never undone by a stale reading.
		var err error
		if lvs, err = p.lvm.ListLVs(ctx, p.cfg.VolumeGroup); err != nil {
			return fmt.Errorf("%w: listing LVs: %w", ErrUnavailable, err)
		}
		if p.cfg.CHAP {
			// Notice a key LV an administrator marked for replacement.
			p.noticeCHAPKey(ctx, (&lvReport{lvs: lvs}).lv(keyLVName))
		}
		warnSharedInitiators(lvs)
		changesBefore := p.stats.tgtChanges.Load()
		defer func() { p.recordListing(lvs, st.targets, p.stats.tgtChanges.Load()-changesBefore) }()
		for i := range lvs {
			lv := &lvs[i]
			info := parseTags(lv.Tags)
			if !info.ours {
				continue
			}
			if info.kind == kindSnap && info.deleting && ValidSnapshotID(lv.Name) {
				snapDeletes = append(snapDeletes, lv.Name)
				continue
			}
			if job, ok := p.abandoned(lv, info); ok {
				leftovers = append(leftovers, leftover{name: lv.Name, job: job})
				continue
			}
			if !ValidVolumeID(lv.Name) || info.kind != "" || info.creating {
				continue
			}
			if info.deleting {
				unfinished = append(unfinished, i)
				continue
			}
			if len(info.nodes) > 0 {
				exported[lv.Name] = true
			}
			if info.growing {
				// Its target stays as it is until the new space is zeroed.
				growing = append(growing, i)
				continue
			}
			if p.cfg.CHAP {
				// A failure here must not keep the target from its
				// ACL below: note it and go on.
				if err := p.settleCHAPTags(ctx, lv, len(info.nodes) > 0); err != nil {
					errs = append(errs, fmt.Errorf("volume %s: %w", lv.Name, err))
				}
			}
			if err := p.syncTarget(ctx, st, lv, info.nodes, info.prov); err != nil {
				errs = append(errs, fmt.Errorf("volume %s: %w", lv.Name, err))
			}
		}
		for i := len(st.targets) - 1; i >= 0; i-- {
			t := &st.targets[i]
			id := p.ourTarget(t.IQN)
			if id == "" || exported[id] {
				continue
			}
			klog.InfoS("Removing a target no published volume backs", "iqn", t.IQN, "tid", t.TID)
			if err := p.removeTarget(ctx, st, t); err != nil {
				errs = append(errs, err)
			}
		}
		for user := range st.accounts {
			if id, _, ok := accountOf(user); ok && !exported[id] {
				if err := p.deleteAccount(ctx, st, user); err != nil {
					errs = append(errs, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.warnAboutThinPool(&lvReport{lvs: lvs})
	var work []unfinishedWork
	// Scratch snapshots and half-filled clones no running job owns were left
	// by a crash or an abandoned request: a retry starts over anyway. They
	// hold a tenant's data, so they are wiped (wipe.go).
	for _, l := range leftovers {
		work = append(work, unfinishedWork{key: l.job, what: "removing " + l.name, fn: func(ctx context.Context) error {
			klog.InfoS("Wiping and removing what an interrupted clone left", "lv", l.name)
			return p.removeLeftover(ctx, l.name)
		}})
	}
	for _, name := range snapDeletes {
		work = append(work, unfinishedWork{key: deleteJob(name), what: "snapshot " + name, fn: func(ctx context.Context) error {
			klog.InfoS("Finishing an interrupted snapshot delete", "snapshotID", name)
			return p.wipeAndRemove(ctx, name)
		}})
	}
	for _, i := range growing {
		id := lvs[i].Name
		work = append(work, unfinishedWork{key: growJob(id), what: "volume " + id, fn: func(ctx context.Context) error {
			return p.finishGrowth(ctx, id)
		}})
	}
	for _, i := range unfinished {
		lv := &lvs[i]
		work = append(work, unfinishedWork{key: deleteJob(lv.Name), what: "volume " + lv.Name, fn: func(ctx context.Context) error {
			klog.InfoS("Finishing an interrupted delete", "volumeID", lv.Name)
			return p.finishDelete(ctx, lv, parseTags(lv.Tags))
		}})
	}
	return work, errors.Join(errs...)
}

// warnAboutThinPool logs what is wrong with the thin pool as a pass's
// listing shows it: nearly full, or not zeroing new blocks. From the
// listing, after tgtd is healed: reads of their own were two lvs of the
// whole VG ahead of every rebuild.
func (p *Pool) warnAboutThinPool(listing *lvReport) {
	if p.cfg.ThinPool == "" {
		return
	}
	pool := listing.lv(p.cfg.ThinPool)
	if pool == nil {
		klog.ErrorS(nil, "The thin pool is not in the volume group", "volumeGroup", p.cfg.VolumeGroup, "thinPool", p.cfg.ThinPool)
		return
	}
	p.warnThinPool(pool)
	p.warnThinZeroing(pool)
}

// RunReconciler reconciles at start, every interval, and as soon as tgtd's
// control socket is replaced (tgtd restarted and forgot every target), so
// nodes' sessions find their targets again within their replacement
// timeout. It returns when ctx is done.
//
// It never waits for the unfinished work it finds: a wipe of a large thick
// volume takes hours, and a tgtd restart meanwhile must still be healed
// within seconds. That work runs as jobs; the next pass skips what is still
// running.
func (p *Pool) RunReconciler(ctx context.Context, socket string, interval time.Duration) {
	reconcile := func(why string) {
		start := time.Now()
		work, err := p.reconcileExports(ctx)
		started := 0
		for _, w := range byKey(work) {
			if p.jobs.start(ctx, w.key, w.what, w.fn) {
				started++
			}
		}
		p.recordReconcile(time.Since(start), err, started)
		if err != nil {
			klog.ErrorS(err, "Reconcile incomplete; will retry", "trigger", why)
			return
		}
		klog.V(2).InfoS("Reconciled tgtd with the LV tags", "trigger", why, "duration", time.Since(start), "unfinishedWork", len(work))
	}
	// Read before the first pass: a tgtd that restarts during it is a
	// new socket the next look sees.
	last := socketIdentity(socket)
	reconcile("start-up")
	tick := time.NewTicker(interval)
	defer tick.Stop()
	watch := time.NewTicker(time.Second)
	defer watch.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			reconcile("periodic")
		case <-watch.C:
			// A stat a second is cheap; a new socket file means a new tgtd.
			if now := socketIdentity(socket); now != last {
				last = now
				if now != (fileIdentity{}) {
					klog.InfoS("tgtd restarted; restoring its targets")
					reconcile("tgtd restart")
				}
			}
		}
	}
}

// fileIdentity tells a file from one created later at the same path. The
// inode alone does not: a tmpfs like /run hands a freed inode number to the
// next file at once (seen in the unit test), so the change time is part of it.
type fileIdentity struct {
	ino   uint64
	ctime syscall.Timespec
}

// socketIdentity is the identity of the socket file, zero when absent.
func socketIdentity(path string) fileIdentity {
	info, err := os.Stat(path)
	if err != nil {
		return fileIdentity{}
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return fileIdentity{ino: st.Ino, ctime: st.Ctim}
	}
	return fileIdentity{}
}

// abandoned reports an LV of ours that only a running clone job may keep: a
// scratch snapshot or a volume still "creating" whose job is not running,
// with the key of that job.
func (p *Pool) abandoned(lv *lvm.LV, info tagInfo) (string, bool) {
	switch {
	case info.kind == kindScratch:
		return info.src, !p.jobs.busy(info.src)
	case info.kind == "" && info.creating:
		return lv.Name, !p.jobs.busy(lv.Name)
	}
	return "", false
}

// leftover is an LV an interrupted clone left, with the key of the clone's
// job: its removal runs under that key, so a clone retried meanwhile waits
// for it (or it waits for the clone) instead of losing its LV mid-copy.
type leftover struct {
	name, job string
}

// removeLeftover wipes and removes an LV an interrupted clone left. A
// half-filled volume is tagged "deleting" first, so a retried CreateVolume
// is told to come back instead of resuming the fill in an LV being wiped.
func (p *Pool) removeLeftover(ctx context.Context, name string) error {
	lv, err := p.lvm.GetLV(ctx, p.cfg.VolumeGroup, name)
	if errors.Is(err, lvm.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	info := parseTags(lv.Tags)
	if !info.ours || (info.kind != kindScratch && !info.creating) {
		return nil // finished by the clone job this waited for
	}
	if info.kind == "" && !info.deleting {
		if err := p.lvm.ChangeTags(ctx, p.cfg.VolumeGroup, name, []string{tagState + stateDelete}, nil); err != nil {
			return err
		}
	}
	return p.wipeAndRemoveJob(ctx, name)
}

// finishGrowth zeroes the new space of a volume whose expansion was
// interrupted, then brings its target in line (refreshing or adding its
// LUN with the new size). It runs as the volume's grow job.
func (p *Pool) finishGrowth(ctx context.Context, id string) error {
	klog.InfoS("Finishing an interrupted expansion", "volumeID", id)
	if err := p.grow(ctx, id, 0); err != nil {
		return err
	}
	lv, err := p.lvm.GetLV(ctx, p.cfg.VolumeGroup, id)
	if err != nil {
		return err
	}
	_, info, ok := volumeFromLV(lv)
	if !ok {
		return nil
	}
	return p.withTgtFor(ctx, id, func(st *tgtState) error { return p.syncTarget(ctx, st, lv, info.nodes, info.prov) })
}
