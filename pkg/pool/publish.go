package pool

import (
	"context"
	"fmt"
	"slices"
)

// Publish lets one node log in to a volume and returns how. The publication
// is recorded in the LV tags first, then tgtd is brought in line: a crash in
// between leaves a tag that Reconcile (or the retry) turns into the binding.
// Unless shared, a volume published to another node is refused.
func (p *Pool) Publish(ctx context.Context, id string, node Node, shared bool) (Export, error) {
	lv, v, err := p.getVolume(ctx, id)
	if err != nil {
		return Export{}, err
	}
	// New space an interrupted expansion left unzeroed is zeroed before a
	// LUN can show it.
	if lv, err = p.settleGrow(ctx, lv); err != nil {
		return Export{}, err
	}
	var add, del []string
	found := false
	for _, n := range v.Nodes {
		switch {
		case n.ID == node.ID && n.Initiator == node.Initiator:
			found = true
		case n.ID == node.ID:
			// The node's initiator name changed (reinstalled node): the old
			// name must lose access.
			del = append(del, pubTag(n))
		case !shared:
			return Export{}, fmt.Errorf("%w: volume %s is published to node %s", ErrPublishedElsewhere, id, n.ID)
		}
	}
	nodes := slices.DeleteFunc(slices.Clone(v.Nodes), func(n Node) bool { return n.ID == node.ID })
	nodes = append(nodes, node)
	if !found {
		add = append(add, pubTag(node))
	}
	if len(add)+len(del) > 0 {
		if err := p.lvm.ChangeTags(ctx, p.cfg.VolumeGroup, id, add, del); err != nil {
			return Export{}, fmt.Errorf("recording the publication of %s to %s: %w", id, node.ID, err)
		}
	}
	if err := p.withTgt(ctx, func(st *tgtState) error { return p.syncTarget(ctx, st, lv, nodes, v.Provisioning) }); err != nil {
		return Export{}, err
	}
	exp := Export{Portal: p.cfg.Portal, IQN: p.IQN(id), LUN: lunNumber}
	if p.cfg.CHAP {
		creds, err := p.secrets.Ensure(id)
		if err != nil {
			return Export{}, err
		}
		exp.CHAP = &creds
	}
	return exp, nil
}

// Unpublish takes one node's access away: its ACL entry and its open
// connections. Unknown nodes are success (already unpublished).
func (p *Pool) Unpublish(ctx context.Context, id, nodeID string) error {
	lv, v, err := p.getVolume(ctx, id)
	if err != nil {
		return err
	}
	var del []string
	var nodes []Node
	for _, n := range v.Nodes {
		if n.ID == nodeID {
			del = append(del, pubTag(n))
		} else {
			nodes = append(nodes, n)
		}
	}
	if len(del) > 0 {
		if err := p.lvm.ChangeTags(ctx, p.cfg.VolumeGroup, id, nil, del); err != nil {
			return fmt.Errorf("recording the unpublication of %s from %s: %w", id, nodeID, err)
		}
	}
	return p.withTgt(ctx, func(st *tgtState) error { return p.syncTarget(ctx, st, lv, nodes, v.Provisioning) })
}

// withTgt runs fn under tgtMu with a fresh reading of tgtd.
func (p *Pool) withTgt(ctx context.Context, fn func(*tgtState) error) error {
	p.tgtMu.Lock()
	defer p.tgtMu.Unlock()
	st, err := p.readTgt(ctx)
	if err != nil {
		return err
	}
	return fn(st)
}
