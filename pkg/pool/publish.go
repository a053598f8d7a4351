package pool

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// Publish lets one node log in to a volume and returns how. The publication
// is recorded in the LV tags first, then tgtd is brought in line: a crash in
// between leaves a tag that Reconcile (or the retry) turns into the binding.
// Unless shared, a volume published to another node is refused; so is a
// node whose initiator name is published to a node of another name. The
// credentials handed out are the node's own for this volume (chapcreds.go).
func (p *Pool) Publish(ctx context.Context, id string, node Node, shared bool) (Export, error) {
	defer p.publishing.enter(id)()
	lv, prov, nodes, err := p.recordPublication(ctx, id, node, shared)
	if err != nil {
		return Export{}, err
	}
	// New space an interrupted expansion left unzeroed is zeroed before a
	// LUN can show it.
	if lv, err = p.settleGrow(ctx, lv); err != nil {
		return Export{}, err
	}
	// A publication only adds: its target's listing serves (tgtread.go).
	if err := p.withTgtTargets(ctx, id, func(st *tgtState) error { return p.syncTarget(ctx, st, lv, nodes, prov) }); err != nil {
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
// accounts and its open connections, under whichever id its publications
// were recorded: the node is matched by name, so an id it had before a new
// key or initiator name unpublishes it too (the CO detaches by node name).
// Unknown nodes are success (already unpublished).
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
	return p.withTgtFor(ctx, id, func(st *tgtState) error { return p.syncTarget(ctx, st, lv, nodes, v.Provisioning) })
}

// recordPublication checks that node may have volume id and records it in
// the tags; it returns the LV, its provisioning and the nodes the volume
// is published to from now on. It runs in its turn (publocks.go), so the
// checks and the record are one step. A publication of the same node name
// under another initiator name (the node was reinstalled) is replaced: the
// old name loses access.
func (p *Pool) recordPublication(ctx context.Context, id string, node Node, shared bool) (*lvm.LV, Provisioning, []Node, error) {
	release, err := p.pubs.acquire(ctx, id, node)
	if err != nil {
		return nil, "", nil, err
	}
	defer release()
	// One lvs serves every question (report.go), and none can be answered
	// without it: whether the volume exists and is not being deleted, the
	// nodes it is published to (refused elsewhere unless shared, or this
	// node's old id replaced), its CHAP generation and a pending rotation,
	// whether a growth is unfinished, and every publication of the node's
	// initiator name. It is read in the publication's turn, after the tags
	// of every conflicting publication are written.
	r, err := p.readReport(ctx)
	if err != nil {
		return nil, "", nil, err
	}
	lv, v, err := r.volume(id)
	if err != nil {
		return nil, "", nil, err
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
			return nil, "", nil, fmt.Errorf("%w: volume %s is published to node %s", ErrPublishedElsewhere, id, n.ID)
		}
	}
	if p.cfg.CHAP {
		if err := p.settleCHAPTags(ctx, lv, len(v.Nodes) > 0); err != nil {
			return nil, "", nil, err
		}
	}
	if !found {
		if err := p.checkInitiator(r.lvs, node); err != nil {
			return nil, "", nil, err
		}
		add = append(add, pubTag(node))
	}
	if len(add)+len(del) > 0 {
		if err := p.lvm.ChangeTags(ctx, p.cfg.VolumeGroup, id, add, del); err != nil {
			return nil, "", nil, fmt.Errorf("recording the publication of %s to %s: %w", id, node.ID, err)
		}
	}
	nodes := slices.DeleteFunc(slices.Clone(v.Nodes), func(n Node) bool { return sameNode(n.ID, node.ID) })
	return lv, v.Provisioning, append(nodes, node), nil
}

// withTgt runs fn under tgtMu with a full reading of tgtd (readTgt).
func (p *Pool) withTgt(ctx context.Context, fn func(*tgtState) error) error {
	p.tgtMu.Lock()
	defer p.tgtMu.Unlock()
	st, err := p.readTgt(ctx)
	if err != nil {
		return err
	}
	return fn(st)
}
