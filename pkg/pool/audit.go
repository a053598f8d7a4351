package pool

import (
	"fmt"
	"slices"
	"sort"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// DriftKind names one way the storage host differs from what the LV tags
// say. The reconciler repairs every kind but DriftSharedInitiator and
// DriftMalformedTags; Audit only reports them, for `lvm-iscsi-csi doctor`.
type DriftKind string

const (
	// DriftStrayTarget: a target of ours that no published volume backs
	// (FAQ 3.3: a target left behind).
	DriftStrayTarget DriftKind = "StrayTarget"
	// DriftStrayAccount: a CHAP account of ours that no published volume
	// backs.
	DriftStrayAccount DriftKind = "StrayAccount"
	// DriftMissingTarget: a published volume with no target; its node
	// cannot log in.
	DriftMissingTarget DriftKind = "MissingTarget"
	// DriftLUN: LUN 1 of a volume's target is missing or is not the LV
	// (backing store, SCSI serial or id), or advertises thin provisioning.
	DriftLUN DriftKind = "LUN"
	// DriftTargetOffline: a published volume's target is offline, as a
	// size refresh sets it for a moment (refresh.go); one that stays
	// refuses every login of its nodes.
	DriftTargetOffline DriftKind = "TargetOffline"
	// DriftACLMissing: a published initiator is not bound to the target.
	DriftACLMissing DriftKind = "ACLMissing"
	// DriftACLExtra: an initiator that is not published is bound.
	DriftACLExtra DriftKind = "ACLExtra"
	// DriftAddressACL: the target admits an address (ALL, an IP, a
	// network), which this driver never sets.
	DriftAddressACL DriftKind = "AddressACL"
	// DriftNoCHAP: CHAP is on and a published target has no account
	// bound, so tgtd lets the bound initiators in without CHAP.
	DriftNoCHAP DriftKind = "NoCHAPAccount"
	// DriftUnfinished: a delete, a clone or an expansion that has not
	// finished (running, or interrupted and left to the reconciler).
	DriftUnfinished DriftKind = "Unfinished"
	// DriftMalformedTags: tags of ours that do not parse.
	DriftMalformedTags DriftKind = "MalformedTags"
	// DriftSharedInitiator: one initiator name published to two node names.
	DriftSharedInitiator DriftKind = "SharedInitiator"
)

// Drift is one difference Audit found. Fields not relevant to its kind are
// empty; TID is 0 when no target is concerned.
type Drift struct {
	Kind      DriftKind
	Volume    string // volume id or LV name
	IQN       string
	TID       int
	Account   string
	Initiator string
	Detail    string // what differs, for a human; never a secret
}

// AuditConfig is what Audit needs of the controller's configuration.
type AuditConfig struct {
	VolumeGroup string
	IQNPrefix   string
	CHAP        bool
}

// Audit compares a reading of the LVs, tgtd's targets and its accounts with
// what the tags say, as reconcileExports would, and changes nothing. It
// applies the same rules as the reconciler (syncTarget, syncLUN, syncACL,
// the stray target and account sweeps), so a drift it reports is one the
// controller's next reconcile repairs, or one it only warns about.
func Audit(cfg AuditConfig, lvs []lvm.LV, targets []tgt.Target, accounts []string) []Drift {
	var out []Drift
	iqnOf := func(id string) string { return publish.IQN(cfg.IQNPrefix, id) }
	byIQN := map[string]*tgt.Target{}
	for i := range targets {
		byIQN[targets[i].IQN] = &targets[i]
	}
	exported := map[string]bool{}
	skip := map[string]bool{} // volumes whose target the reconciler leaves as it is
	for i := range lvs {
		lv := &lvs[i]
		info := parseTags(lv.Tags)
		if !info.ours {
			continue
		}
		if len(info.malformed) > 0 {
			out = append(out, Drift{Kind: DriftMalformedTags, Volume: lv.Name, Detail: fmt.Sprintf("LV %s: tags %v do not parse", lv.Name, info.malformed)})
		}
		if what := unfinishedWhat(lv, info); what != "" {
			out = append(out, Drift{Kind: DriftUnfinished, Volume: lv.Name, Detail: "LV " + lv.Name + " is " + what})
		}
		if !ValidVolumeID(lv.Name) || info.kind != "" || info.creating || info.deleting {
			continue
		}
		if len(info.nodes) == 0 {
			continue
		}
		exported[lv.Name] = true
		if info.growing {
			skip[lv.Name] = true
			continue
		}
		out = append(out, auditTarget(cfg, lv, info.nodes, byIQN[iqnOf(lv.Name)], iqnOf(lv.Name))...)
	}
	for _, s := range sharedInitiators(lvs) {
		out = append(out, Drift{Kind: DriftSharedInitiator, Volume: s.Volume, Initiator: s.Initiator,
			Detail: fmt.Sprintf("initiator %s is published to node %s and to node %s", s.Initiator, s.Node, s.OtherNode)})
	}
	for i := range targets {
		t := &targets[i]
		id, ok := publish.VolumeIDOf(t.IQN)
		if !ok || !ValidVolumeID(id) || t.IQN != iqnOf(id) || exported[id] {
			continue
		}
		out = append(out, Drift{Kind: DriftStrayTarget, Volume: id, IQN: t.IQN, TID: t.TID,
			Detail: fmt.Sprintf("target %s (tid %d) of volume %s, which is published to no node", t.IQN, t.TID, id)})
	}
	for _, user := range slices.Sorted(slices.Values(accounts)) {
		if id, _, ok := accountOf(user); ok && !exported[id] {
			out = append(out, Drift{Kind: DriftStrayAccount, Volume: id, Account: user,
				Detail: fmt.Sprintf("CHAP account %s of volume %s, which is published to no node", user, id)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Volume < out[j].Volume
	})
	return out
}

// unfinishedWhat says what is unfinished about one of our LVs, or "".
func unfinishedWhat(lv *lvm.LV, info tagInfo) string {
	switch {
	case info.deleting:
		return "being deleted (lic.state=deleting): the controller wipes and removes it"
	case info.kind == kindScratch:
		return "a clone's temporary source snapshot: the clone job removes it, or the reconciler once no clone runs"
	case info.creating:
		return "a volume being filled from a source (lic.state=creating): the clone job finishes it, or the reconciler removes it once no clone runs"
	case info.growing:
		return fmt.Sprintf("grown from %d bytes and the new space not zeroed yet (lic.grow): not exported with its new size until the controller zeroes it", info.growFrom)
	case info.kind == "" && !ValidVolumeID(lv.Name):
		return "tagged as ours but its name is not a volume id: the controller ignores it"
	}
	return ""
}

// auditTarget compares one published volume's target with syncTarget's
// definition of a correct export.
func auditTarget(cfg AuditConfig, lv *lvm.LV, nodes []Node, t *tgt.Target, iqn string) []Drift {
	if t == nil {
		return []Drift{{Kind: DriftMissingTarget, Volume: lv.Name, IQN: iqn,
			Detail: fmt.Sprintf("volume %s is published to %d node(s) but tgtd has no target %s", lv.Name, len(nodes), iqn)}}
	}
	var out []Drift
	base := Drift{Volume: lv.Name, IQN: t.IQN, TID: t.TID}
	path := devicePath(cfg.VolumeGroup, lv)
	var lun *tgt.LUN
	for i := range t.LUNs {
		if t.LUNs[i].Number == lunNumber {
			lun = &t.LUNs[i]
		}
	}
	switch {
	case lun == nil:
		d := base
		d.Kind, d.Detail = DriftLUN, fmt.Sprintf("target %s has no LUN %d", t.IQN, lunNumber)
		out = append(out, d)
	case lun.BackingStore != path || lun.SCSISN != lv.Name || lun.SCSIID != lv.Name:
		d := base
		d.Kind, d.Detail = DriftLUN, fmt.Sprintf("LUN %d of %s has backing store %q, serial %q, id %q; want %q and %q for both",
			lunNumber, t.IQN, lun.BackingStore, lun.SCSISN, lun.SCSIID, path, lv.Name)
		out = append(out, d)
	case lun.ThinProvisioning:
		d := base
		d.Kind, d.Detail = DriftLUN, fmt.Sprintf("LUN %d of %s advertises thin_provisioning, whose UNMAP fails on an LV", lunNumber, t.IQN)
		out = append(out, d)
	}
	if t.State == tgt.StateOffline {
		d := base
		d.Kind, d.Detail = DriftTargetOffline, fmt.Sprintf("target %s is offline (a size refresh that did not finish): its nodes cannot log in", t.IQN)
		out = append(out, d)
	}
	want := map[string]bool{}
	for _, n := range nodes {
		want[n.Initiator] = true
		if !slices.Contains(t.InitiatorNames, n.Initiator) {
			d := base
			d.Kind, d.Initiator = DriftACLMissing, n.Initiator
			d.Detail = fmt.Sprintf("initiator %s of node %s is published but not bound to %s: it cannot log in", n.Initiator, n.ID, t.IQN)
			out = append(out, d)
		}
	}
	for _, name := range t.InitiatorNames {
		if !want[name] {
			d := base
			d.Kind, d.Initiator = DriftACLExtra, name
			d.Detail = fmt.Sprintf("initiator %s is bound to %s but not published: a fenced node can still log in", name, t.IQN)
			out = append(out, d)
		}
	}
	for _, addr := range t.ACLs {
		d := base
		d.Kind, d.Initiator = DriftAddressACL, addr
		d.Detail = fmt.Sprintf("target %s admits the address %s, which this driver never sets: any initiator from there may log in", t.IQN, addr)
		out = append(out, d)
	}
	if cfg.CHAP && len(t.Accounts) == 0 {
		d := base
		d.Kind = DriftNoCHAP
		d.Detail = fmt.Sprintf("CHAP is on but no account is bound to %s: the bound initiators log in without CHAP", t.IQN)
		out = append(out, d)
	}
	return out
}
