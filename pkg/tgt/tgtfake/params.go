package tgtfake

import (
	"context"
	"fmt"
	"maps"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// SetTargetParams records the keys for TargetParams, refusing what tgt.Tgt
// refuses; like tgtd, a target that is deleted or a tgtd that restarts
// forgets them.
func (f *Fake) SetTargetParams(ctx context.Context, tid int, params []tgt.TargetParam) error {
	defer f.mu.Unlock()
	if err := f.begin("SetTargetParams"); err != nil {
		return err
	}
	op := fmt.Sprintf("set iSCSI parameters of target %d", tid)
	for _, p := range params {
		if tgt.CheckTargetParam(p) != nil {
			return fail(op, tgt.ErrInvalid)
		}
	}
	if _, err := f.target(op, tid); err != nil {
		return err
	}
	if f.params[tid] == nil {
		f.params[tid] = map[string]string{}
	}
	for _, p := range params {
		f.params[tid][p.Name] = p.Value
	}
	return nil
}

// TargetParams returns the keys set on target tid (nil for none): what
// `tgtadm --op show --mode target --tid N` would show changed from tgt's
// defaults.
func (f *Fake) TargetParams(tid int) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.params[tid])
}

// SetTargetState sets a target ready or offline; Login refuses an offline
// target, as tgtd does.
func (f *Fake) SetTargetState(ctx context.Context, tid int, state string) error {
	defer f.mu.Unlock()
	if err := f.begin("SetTargetState"); err != nil {
		return err
	}
	op := fmt.Sprintf("set target %d %s", tid, state)
	if state != tgt.StateReady && state != tgt.StateOffline {
		return fail(op, tgt.ErrInvalid)
	}
	t, err := f.target(op, tid)
	if err != nil {
		return err
	}
	t.State = state
	return nil
}
