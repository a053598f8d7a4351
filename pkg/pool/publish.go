package pool

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Publish lets one node log in to a volume and returns how. The publication
// is recorded in the LV tags first, then tgtd is brought in line: a crash in
// between leaves a tag that Reconcile (or the retry) turns into the binding.
// Unless shared, a volume published to another node is refused. The
// credentials handed out are the node's own for this volume (chapcreds.go).
func (p *Pool) Publish(ctx context.Context, id string, node Node, shared bool) (Export, error) {
	lv, v, err := p.getVolume(ctx, id)
	if err != nil {
		return Export{}, err
	}
	var add, del []string
	found := false
	for _, n := range v.Nodes {
		switch {
		case n == node:
			found = true
		case sameNode(n.ID, node.ID):
			// The same node under a new id: a new key (its state
			// directory was wiped) or a new initiator name (reinstalled).
			// Its old publication goes, and an old initiator name loses
			// access.
			del = append(del, pubTag(n))
		case !shared:
			return Export{}, fmt.Errorf("%w: volume %s is published to node %s", ErrPublishedElsewhere, id, n.ID)
		}
	}
	if p.cfg.CHAP {
		if err := p.settleCHAPTags(ctx, lv, len(v.Nodes) > 0); err != nil {
			return Export{}, err
		}
	}
	nodes := slices.DeleteFunc(slices.Clone(v.Nodes), func(n Node) bool { return sameNode(n.ID, node.ID) })
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
		if exp.CHAP, err = p.credentials(ctx, lv, node); err != nil {
			return Export{}, err
		}
	}
	return exp, nil
}

// Unpublish takes one node's access away: its ACL entry, its CHAP
// accounts and its open connections. The node is matched by name, so an
// id it had before a new key or initiator name unpublishes it too. Unknown
// nodes are success (already unpublished).
func (p *Pool) Unpublish(ctx context.Context, id, nodeID string) error {
	lv, v, err := p.getVolume(ctx, id)
	if err != nil {
		return err
	}
	var del []string
	var nodes []Node
	for _, n := range v.Nodes {
		if sameNode(n.ID, nodeID) {
			del = append(del, pubTag(n))
		} else {
			nodes = append(nodes, n)
		}
	}
	if len(del) > 0 && len(nodes) == 0 {
		// Published nowhere now: no node can hold an older generation of
		// credentials any more.
		c := parseCHAPTags(lv.Tags)
		for _, t := range c.raw {
			if strings.HasPrefix(t, tagCHAPOld) {
				del = append(del, t)
			}
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
