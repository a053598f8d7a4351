package pool

import (
	"context"
	"fmt"
	"sync"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
)

// pubLocks orders the publications that conflict, and only those: each
// reads the volume group (one lvs) and records its tag (one lvchange),
// 0.3 to 1 s of lvm under emulation, and a burst of attachments to one
// node (pods scheduled together) used to take turns for all of it. Two
// publications wait for each other when
//
//   - they are of one volume: the check that it is not published to
//     another node (unless shared), the settling of its CHAP generation
//     and its new tag are one step, so two nodes publishing one volume at
//     once cannot both pass;
//   - they are of one initiator name by nodes of different names: the
//     one-initiator-one-node check (initiators.go) and the new tag are one
//     step, so two machines reporting one name cannot both pass. Each
//     reads the tags after the other's are written, and the second is
//     refused.
//
// Publications of one initiator name by one node name do not conflict:
// each would pass that check and record the same owner. They run
// together, and one of another node name waits until none is left (it is
// refused then anyway, unless the node's publications went meanwhile).
// Unpublications only remove tags and take no turn, as before.
type pubLocks struct {
	mu         sync.Mutex
	volumes    map[string]bool
	initiators map[string]initiatorHolders
	// changed is closed, and replaced, whenever a publication ends.
	changed chan struct{}
}

// initiatorHolders are the publications of one initiator name under way,
// all by one node name.
type initiatorHolders struct {
	node string
	n    int
}

// acquire waits until publication of volume id to node conflicts with none
// under way, or ctx ends; release ends it.
func (l *pubLocks) acquire(ctx context.Context, id string, node Node) (release func(), err error) {
	name := publish.NodeName(node.ID)
	for {
		l.mu.Lock()
		if l.changed == nil {
			l.volumes, l.initiators, l.changed = map[string]bool{}, map[string]initiatorHolders{}, make(chan struct{})
		}
		h := l.initiators[node.Initiator]
		if !l.volumes[id] && (h.n == 0 || h.node == name) {
			l.volumes[id] = true
			l.initiators[node.Initiator] = initiatorHolders{node: name, n: h.n + 1}
			l.mu.Unlock()
			return func() { l.release(id, node.Initiator) }, nil
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for another publication of volume %s or initiator %s: %w", id, node.Initiator, ctx.Err())
		}
	}
}

func (l *pubLocks) release(id, initiator string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.volumes, id)
	if h := l.initiators[initiator]; h.n > 1 {
		l.initiators[initiator] = initiatorHolders{node: h.node, n: h.n - 1}
	} else {
		delete(l.initiators, initiator)
	}
	close(l.changed)
	l.changed = make(chan struct{})
}
