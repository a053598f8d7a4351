package pool

import (
	"fmt"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// One initiator name, one node. tgtd fences a target by initiator name
// (syncACL), so two machines reporting the same name (a cloned disk image,
// a node renamed while its volumes stay attached) would each reach the
// volumes published to the other. A publish whose initiator name is
// recorded for another node is refused; see docs/design.md, "Identity".

// checkInitiator refuses node when its initiator name is recorded, in the
// tags of any volume of lvs that is not being deleted, for a node of
// another name. Callers read lvs in their turn (publocks.go) and keep it
// until the publication is recorded, so two nodes publishing one name at
// once cannot both pass.
func (p *Pool) checkInitiator(lvs []lvm.LV, node Node) error {
	if other, vol, ok := initiatorHolder(lvs, node); ok {
		return fmt.Errorf("%w: initiator %s of node %s is already published to node %s (volume %s); "+
			"two machines with one initiator name would reach each other's volumes: give each machine its own "+
			"InitiatorName in /etc/iscsi/initiatorname.iscsi, or, if %s is gone or was renamed, let its volumes be unpublished first",
			ErrInitiatorInUse, node.Initiator, node.ID, other.ID, vol, other.ID)
	}
	return nil
}

// initiatorHolder finds a publication of node's initiator to a node of
// another name.
func initiatorHolder(lvs []lvm.LV, node Node) (Node, string, bool) {
	for i := range lvs {
		info := parseTags(lvs[i].Tags)
		if !info.ours || info.deleting {
			continue
		}
		for _, n := range info.nodes {
			if n.Initiator == node.Initiator && !sameNode(n.ID, node.ID) {
				return n, lvs[i].Name, true
			}
		}
	}
	return Node{}, "", false
}

// sharedInitiator is one initiator name that the tags record for two node
// names, on one volume or on two.
type sharedInitiator struct {
	Initiator, Node, OtherNode, Volume string
}

// sharedInitiators finds every initiator name that the tags record for
// more than one node name: publications made before the check of
// checkInitiator existed, or by hand. Reconcile warns about each; it
// unpublishes nothing, since which node really owns the name is not known
// here, but an administrator must look.
func sharedInitiators(lvs []lvm.LV) []sharedInitiator {
	owners := map[string]string{}
	var out []sharedInitiator
	reported := map[string]bool{}
	for i := range lvs {
		info := parseTags(lvs[i].Tags)
		if !info.ours || info.deleting {
			continue
		}
		for _, n := range info.nodes {
			first, seen := owners[n.Initiator]
			switch {
			case !seen:
				owners[n.Initiator] = n.ID
			case !sameNode(first, n.ID) && !reported[n.Initiator]:
				reported[n.Initiator] = true
				out = append(out, sharedInitiator{Initiator: n.Initiator, Node: first, OtherNode: n.ID, Volume: lvs[i].Name})
			}
		}
	}
	return out
}

func warnSharedInitiators(lvs []lvm.LV) {
	for _, s := range sharedInitiators(lvs) {
		klog.InfoS("One initiator name is published to two nodes: each can reach the other's volumes; give every machine its own initiator name",
			"initiator", s.Initiator, "node", s.Node, "otherNode", s.OtherNode, "volumeID", s.Volume)
	}
}
