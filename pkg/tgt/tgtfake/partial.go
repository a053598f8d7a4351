package tgtfake

import (
	"context"
	"sort"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// ListTargetsWithoutSessions is ListTargets with every Sessions nil, as
// tgt.Tgt gives it; names is not needed here.
func (f *Fake) ListTargetsWithoutSessions(ctx context.Context, names []tgt.TargetName) ([]tgt.Target, error) {
	defer f.mu.Unlock()
	if err := f.begin("ListTargetsWithoutSessions"); err != nil {
		return nil, err
	}
	out := f.sortedTargets()
	for i := range out {
		out[i].Sessions = nil
	}
	return out, nil
}

// ListTargetNames is every target's tid and IQN, in tid order.
func (f *Fake) ListTargetNames(ctx context.Context) ([]tgt.TargetName, error) {
	defer f.mu.Unlock()
	if err := f.begin("ListTargetNames"); err != nil {
		return nil, err
	}
	var out []tgt.TargetName
	for _, t := range f.sortedTargets() {
		out = append(out, tgt.TargetName{TID: t.TID, IQN: t.IQN})
	}
	return out, nil
}

// TargetSessions is the sessions of target tid, ErrNotFound unless tid is
// iqn's.
func (f *Fake) TargetSessions(ctx context.Context, tid int, iqn string) ([]tgt.Session, error) {
	defer f.mu.Unlock()
	if err := f.begin("TargetSessions"); err != nil {
		return nil, err
	}
	t, ok := f.targets[tid]
	if !ok || t.IQN != iqn {
		return nil, fail("list the connections of a target", tgt.ErrNotFound)
	}
	return f.copyTarget(t).Sessions, nil
}

// sortedTargets copies every target, in tid order. Callers hold mu.
func (f *Fake) sortedTargets() []tgt.Target {
	tids := make([]int, 0, len(f.targets))
	for tid := range f.targets {
		tids = append(tids, tid)
	}
	sort.Ints(tids)
	out := make([]tgt.Target, 0, len(tids))
	for _, tid := range tids {
		out = append(out, f.copyTarget(f.targets[tid]))
	}
	return out
}
