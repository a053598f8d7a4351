package pool

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// Reasons of a published volume's target health.
const (
	// ReasonTargetMissing: tgtd has no target for a published volume.
	ReasonTargetMissing = "TargetMissing"
	// ReasonTargetUnknown: tgtd could not be read to tell.
	ReasonTargetUnknown = "TargetUnknown"
)

// targetHealth returns the target problem of each published volume among
// vols, by id. A published volume whose target tgtd does not have is
// unreachable for the nodes it is published to: their I/O waits and fails
// after the replacement timeout. The reconciler restores such a target from
// the LV tags within a second of tgtd restarting and at every interval, so
// one still missing when health is read is one it has not healed (yet, or
// at all). Unpublished volumes have no target and cost no reading, and
// neither do volumes a Publish is under way for: it writes the node's tag
// before it makes the target, and the node does not log in before it
// returns.
func (p *Pool) targetHealth(ctx context.Context, vols []Volume) map[string]Health {
	var published []Volume
	for _, v := range vols {
		if len(v.Nodes) > 0 && !p.publishing.has(v.ID) {
			published = append(published, v)
		}
	}
	if len(published) == 0 {
		return nil
	}
	out := map[string]Health{}
	// The driver listing alone answers which targets exist: one tgtadm
	// call, nothing an initiator chose in it.
	targets, err := p.tgt.ListTargetNames(ctx)
	if err != nil {
		for _, v := range published {
			out[v.ID] = Health{Reason: ReasonTargetUnknown, Message: fmt.Sprintf(
				"tgtd cannot be read (%v), so whether the target of this volume, published to %s, exists is unknown: "+
					"if tgtd is down, the nodes' I/O to it waits and fails after the replacement timeout (doctor on the storage host)",
				err, nodeIDs(v.Nodes))}
		}
		return out
	}
	have := make(map[string]bool, len(targets))
	for _, t := range targets {
		have[t.IQN] = true
	}
	for _, v := range published {
		if iqn := p.IQN(v.ID); !have[iqn] {
			out[v.ID] = Health{Reason: ReasonTargetMissing, Message: fmt.Sprintf(
				"the volume is published to %s but tgtd has no target %s: their I/O to it waits and fails after the replacement timeout; "+
					"the controller restores it from the LV tags within a second of a tgtd restart and at every reconcile, so if this lasts "+
					"see the controller's log and run doctor on the storage host",
				nodeIDs(v.Nodes), iqn)}
		}
	}
	return out
}

func nodeIDs(nodes []Node) string {
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID
	}
	return strings.Join(ids, ", ")
}

// inFlight counts the calls under way per volume id.
type inFlight struct {
	mu  sync.Mutex
	ids map[string]int
}

// enter counts one call for id until the returned func is called.
func (f *inFlight) enter(id string) (leave func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ids == nil {
		f.ids = map[string]int{}
	}
	f.ids[id]++
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.ids[id]--; f.ids[id] == 0 {
			delete(f.ids, id)
		}
	}
}

func (f *inFlight) has(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ids[id] > 0
}
