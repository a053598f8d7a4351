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
// interrupted are finished. Targets and accounts that are not ours are never
// touched. Errors on one volume do not stop the others.
func (p *Pool) Reconcile(ctx context.Context) error {
	var lvs []lvm.LV
	var errs []error
	var unfinished []int
	var leftovers []string
	exported := map[string]bool{}
	if p.cfg.CHAP {
		// Notice a key LV an administrator marked for replacement.
		p.rereadCHAPKey()
	}
	err := p.withTgt(ctx, func(st *tgtState) error {
		// The tags are read under tgtMu: a publish that recorded its tag
		// and is waiting for the lock is then either seen here or applies
		// its own change after us, never undone by a stale reading.
		var err error
		if lvs, err = p.lvm.ListLVs(ctx, p.cfg.VolumeGroup); err != nil {
			return fmt.Errorf("%w: listing LVs: %v", ErrUnavailable, err)
		}
		for i := range lvs {
			lv := &lvs[i]
			info := parseTags(lv.Tags)
			if !info.ours {
				continue
			}
			if p.abandoned(lv, info) {
				leftovers = append(leftovers, lv.Name)
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
		return err
	}
	// Scratch snapshots and half-filled clones no running job owns were left
	// by a crash or an abandoned request: a retry starts over anyway.
	for _, name := range leftovers {
		klog.InfoS("Removing what an interrupted clone left", "lv", name)
		if err := p.lvm.RemoveLV(ctx, p.cfg.VolumeGroup, name); err != nil && !errors.Is(err, lvm.ErrNotFound) {
			errs = append(errs, fmt.Errorf("removing %s: %w", name, err))
		}
	}
	for _, i := range unfinished {
		klog.InfoS("Finishing an interrupted delete", "volumeID", lvs[i].Name)
		if err := p.finishDeleteJob(ctx, &lvs[i], parseTags(lvs[i].Tags)); err != nil {
			errs = append(errs, fmt.Errorf("volume %s: %w", lvs[i].Name, err))
		}
	}
	return errors.Join(errs...)
}

// RunReconciler reconciles at start, every interval, and as soon as tgtd's
// control socket is replaced (tgtd restarted and forgot every target), so
// nodes' sessions find their targets again within their replacement
// timeout. It returns when ctx is done.
func (p *Pool) RunReconciler(ctx context.Context, socket string, interval time.Duration) {
	reconcile := func(why string) {
		p.warnThinPool(ctx)
		start := time.Now()
		if err := p.Reconcile(ctx); err != nil {
			klog.ErrorS(err, "Reconcile incomplete; will retry", "trigger", why)
			return
		}
		klog.V(2).InfoS("Reconciled tgtd with the LV tags", "trigger", why, "duration", time.Since(start))
	}
	reconcile("start-up")
	last := socketIdentity(socket)
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
			// A stat a second is cheap; a new inode means a new tgtd.
			if now := socketIdentity(socket); now != last {
				last = now
				if now != 0 {
					klog.InfoS("tgtd restarted; restoring its targets")
					reconcile("tgtd restart")
				}
			}
		}
	}
}

// socketIdentity is the inode of the socket file, 0 when absent.
func socketIdentity(path string) uint64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

// abandoned reports an LV of ours that only a running clone job may keep: a
// scratch snapshot or a volume still "creating" whose job is not running.
func (p *Pool) abandoned(lv *lvm.LV, info tagInfo) bool {
	switch {
	case info.kind == kindScratch:
		return !p.jobs.busy(info.src)
	case info.kind == "" && info.creating:
		return !p.jobs.busy(lv.Name)
	}
	return false
}
