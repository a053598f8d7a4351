package doctor

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
)

// driftIDs are the finding ids of pool.Audit's drift kinds, each reported
// as OK when none of its kind is found.
var driftIDs = []struct {
	id    string
	kinds []pool.DriftKind
	none  string
}{
	{"stray-target", []pool.DriftKind{pool.DriftStrayTarget}, "no target of this driver without a published volume"},
	{"stray-account", []pool.DriftKind{pool.DriftStrayAccount}, "no CHAP account of this driver without a published volume"},
	{"target-missing", []pool.DriftKind{pool.DriftMissingTarget}, "every published volume has its target"},
	{"target-lun", []pool.DriftKind{pool.DriftLUN}, "every target's LUN 1 is its volume's LV with the volume id as serial"},
	{"target-offline", []pool.DriftKind{pool.DriftTargetOffline}, "every published volume's target is ready"},
	{"target-acl", []pool.DriftKind{pool.DriftACLMissing, pool.DriftACLExtra, pool.DriftAddressACL}, "every target admits exactly its published initiators"},
	{"target-chap", []pool.DriftKind{pool.DriftNoCHAP}, "every published target has a CHAP account bound (or CHAP is off)"},
	{"unfinished-lv", []pool.DriftKind{pool.DriftUnfinished}, "no delete, clone or expansion left unfinished"},
	{"malformed-tags", []pool.DriftKind{pool.DriftMalformedTags}, "every tag of this driver parses"},
	{"shared-initiator", []pool.DriftKind{pool.DriftSharedInitiator}, "no initiator name is published to two nodes"},
}

// audit reads the LVs, targets and accounts and compares them with the tags.
func (h *host) audit(ctx context.Context) ([]pool.Drift, error) {
	// tgtd first: the controller tags before it changes tgtd, so a target
	// seen here has its tag in the LV listing read after it.
	targets, err := h.deps.Tgt.ListTargets(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading tgtd's targets: %w", err)
	}
	accounts, err := h.deps.Tgt.ListAccounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading tgtd's accounts: %w", err)
	}
	lvs, err := h.deps.LVM.ListLVs(ctx, h.cfg.VolumeGroup)
	if err != nil {
		return nil, fmt.Errorf("listing the LVs of %s: %w", h.cfg.VolumeGroup, err)
	}
	return pool.Audit(pool.AuditConfig{VolumeGroup: h.cfg.VolumeGroup, IQNPrefix: h.cfg.IQNPrefix, CHAP: h.cfg.CHAP}, lvs, targets, accounts), nil
}

func driftKey(d pool.Drift) string {
	return fmt.Sprintf("%s|%s|%s|%d|%s|%s", d.Kind, d.Volume, d.IQN, d.TID, d.Account, d.Initiator)
}

// checkDrift reports what differs from the tags in two readings Settle
// apart: a publish or unpublish under way is not a drift.
func (h *host) checkDrift(ctx context.Context) []Finding {
	first, err := h.audit(ctx)
	if err == nil && len(first) > 0 && h.cfg.Settle > 0 {
		select {
		case <-time.After(h.cfg.Settle):
		case <-ctx.Done():
		}
		var second []pool.Drift
		if second, err = h.audit(ctx); err == nil {
			seen := map[string]bool{}
			for _, d := range first {
				seen[driftKey(d)] = true
			}
			first = first[:0]
			for _, d := range second {
				if seen[driftKey(d)] {
					first = append(first, d)
				}
			}
		}
	}
	if err != nil {
		return []Finding{{ID: "drift", Severity: Warning, What: "targets, ACLs and CHAP accounts not compared with the LV tags: " + err.Error(),
			Fix: "fix the vg and tgtd findings first"}}
	}
	var out []Finding
	for _, group := range driftIDs {
		n := 0
		for _, d := range first {
			for _, k := range group.kinds {
				if d.Kind == k {
					out = append(out, h.driftFinding(group.id, d))
					n++
				}
			}
		}
		if n == 0 {
			out = append(out, ok(group.id, group.none))
		}
	}
	return out
}

// reconcileFix is the fix of what the controller's reconciler repairs.
const reconcileFix = "the controller repairs it at start-up, every --reconcile-interval and when tgtd restarts; " +
	"if it stays, the controller is not reconciling: read its log (kubectl logs) and restart it (kubectl rollout restart)"

func (h *host) tgtadm(args ...string) []string {
	return append([]string{"tgtadm", "--lld", "iscsi", "-C", strconv.Itoa(h.cfg.TgtControlPort)}, args...)
}

func (h *host) driftFinding(id string, d pool.Drift) Finding {
	f := Finding{ID: id, Severity: Warning, What: d.Detail, Fix: reconcileFix}
	tid := strconv.Itoa(d.TID)
	switch d.Kind {
	case pool.DriftStrayTarget:
		f.Fix = reconcileFix + "; by hand (FAQ 3.3), while no controller runs:"
		f.Command = h.tgtadm("--op", "delete", "--mode", "target", "--force", "--tid", tid)
	case pool.DriftStrayAccount:
		f.Fix = reconcileFix + "; by hand, while no controller runs:"
		f.Command = h.tgtadm("--op", "delete", "--mode", "account", "--user", d.Account)
	case pool.DriftMissingTarget, pool.DriftLUN, pool.DriftNoCHAP:
		f.Severity = Error
	case pool.DriftTargetOffline:
		f.Severity = Error
		f.Fix = reconcileFix + "; by hand:"
		f.Command = h.tgtadm("--op", "update", "--mode", "target", "--tid", tid, "--name", "state", "--value", "ready")
	case pool.DriftACLMissing:
		f.Severity = Error
		f.Fix = reconcileFix + "; by hand:"
		f.Command = h.tgtadm("--op", "bind", "--mode", "target", "--tid", tid, "--initiator-name", d.Initiator)
	case pool.DriftACLExtra:
		f.Severity = Error
		f.Fix = reconcileFix + " (it also closes that initiator's sessions); by hand:"
		f.Command = h.tgtadm("--op", "unbind", "--mode", "target", "--tid", tid, "--initiator-name", d.Initiator)
	case pool.DriftAddressACL:
		f.Severity = Error
		f.Fix = "the controller never sets nor removes an address ACL (someone did it by hand): remove it"
		f.Command = h.tgtadm("--op", "unbind", "--mode", "target", "--tid", tid, "--initiator-address", d.Initiator)
	case pool.DriftUnfinished:
		f.Fix = "nothing while the controller runs: it finishes the work; if this stays across reconciles, read the controller's log for the error that keeps it failing"
	case pool.DriftMalformedTags:
		f.Fix = fmt.Sprintf("see lvs -o lv_name,lv_tags %s/%s; remove a tag set by hand with lvchange --deltag TAG %s/%s",
			h.cfg.VolumeGroup, d.Volume, h.cfg.VolumeGroup, d.Volume)
	case pool.DriftSharedInitiator:
		f.Severity = Error
		f.Fix = "give every machine its own initiator name: on the cloned node, echo \"InitiatorName=$(iscsi-iname)\" > /etc/iscsi/initiatorname.iscsi, restart iscsid and the node plugin, then drain and re-attach its volumes"
	}
	return f
}
