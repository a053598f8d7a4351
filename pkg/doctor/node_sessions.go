package doctor

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
)

// unstaged is one session or record of ours with no stage record.
type unstaged struct {
	portal, iqn, id string
	session         *iscsi.Session // nil for a record without a session
}

// findUnstaged lists sessions and records of our targets without a stage
// record. Sessions and records are read before the stage records: the
// node plugin writes a stage record before it logs in, so a session read
// first has its record by the time the records are read.
func (n *node) findUnstaged(ctx context.Context) ([]unstaged, error) {
	sessions, err := n.deps.Initiator.Sessions(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing sessions: %w", err)
	}
	records, err := n.deps.Initiator.Records(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing node records: %w", err)
	}
	var out []unstaged
	logged := map[string]bool{}
	for i := range sessions {
		s := sessions[i]
		logged[s.Portal+" "+s.IQN] = true
		if id := n.volumeOf(s.IQN); id != "" {
			out = append(out, unstaged{portal: s.Portal, iqn: s.IQN, id: id, session: &s})
		}
	}
	for _, r := range records {
		if id := n.volumeOf(r.IQN); id != "" && !logged[r.Portal+" "+r.IQN] {
			out = append(out, unstaged{portal: r.Portal, iqn: r.IQN, id: id})
		}
	}
	kept := out[:0]
	for _, u := range out {
		staged, err := n.staged(u.id)
		if err != nil {
			return nil, fmt.Errorf("reading the stage record of %s: %w", u.id, err)
		}
		if !staged {
			kept = append(kept, u)
		}
	}
	return kept, nil
}

func unstagedKey(u unstaged) string {
	return fmt.Sprintf("%s %s %v", u.portal, u.iqn, u.session != nil)
}

func (n *node) checkSessionsAndRecords(ctx context.Context) []Finding {
	found, err := n.findUnstaged(ctx)
	if err == nil && len(found) > 0 && n.cfg.Settle > 0 {
		select {
		case <-time.After(n.cfg.Settle):
		case <-ctx.Done():
		}
		var again []unstaged
		if again, err = n.findUnstaged(ctx); err == nil {
			seen := map[string]bool{}
			for _, u := range found {
				seen[unstagedKey(u)] = true
			}
			found = found[:0]
			for _, u := range again {
				if seen[unstagedKey(u)] {
					found = append(found, u)
				}
			}
		}
	}
	if err != nil {
		return []Finding{{ID: "stage-records", Severity: Warning, What: "sessions and node records not compared with the stage records: " + err.Error(),
			Fix: "fix the iscsid finding first; the node plugin's --state-dir must be readable"}}
	}
	var out []Finding
	sessions, records := 0, 0
	for _, u := range found {
		if u.session != nil {
			sessions++
			out = append(out, n.straySession(u))
		} else {
			records++
			out = append(out, n.strayRecord(u))
		}
	}
	if sessions == 0 {
		out = append(out, ok("stray-session", "every session to a volume of this driver is staged"))
	}
	if records == 0 {
		out = append(out, ok("stray-record", "no node record of a volume of this driver that is neither staged nor logged in"))
	}
	return out
}

func (n *node) straySession(u unstaged) Finding {
	f := Finding{ID: "stray-session", Severity: Warning,
		What:    fmt.Sprintf("session %d to %s at %s (volume %s) has no stage record on this node", u.session.ID, u.iqn, u.portal, u.id),
		Command: []string{"iscsiadm", "-m", "node", "-T", u.iqn, "-p", u.portal, "--logout"},
	}
	users := n.sessionUsers(u.session.ID)
	if len(users) > 0 {
		f.Severity = Error
		f.Fix = fmt.Sprintf("its disk is in use (%s), so the stage record was lost while the volume is staged: "+
			"find the pod (kubectl get volumeattachment | grep %s), delete it so kubelet unstages the volume (the node plugin finds the session by its IQN), "+
			"or unmount and log out by hand", strings.Join(users, "; "), u.id)
		return f
	}
	f.AutoFix = true
	f.Fix = "nothing uses its disk: log out and delete its node record (then iscsiadm -m node -T IQN -p PORTAL -o delete)"
	f.apply = func(ctx context.Context) error { return n.logoutIfStillUnstaged(ctx, u) }
	return f
}

func (n *node) strayRecord(u unstaged) Finding {
	f := Finding{ID: "stray-record", Severity: Warning, AutoFix: true,
		What:    fmt.Sprintf("node record of %s at %s (volume %s): no session and no stage record", u.iqn, u.portal, u.id),
		Fix:     "delete the node record (it holds the volume's CHAP secret):",
		Command: []string{"iscsiadm", "-m", "node", "-T", u.iqn, "-p", u.portal, "-o", "delete"},
	}
	f.apply = func(ctx context.Context) error { return n.logoutIfStillUnstaged(ctx, u) }
	return f
}

// logoutIfStillUnstaged logs out of u (a no-op without a session) and
// deletes its node record, after making sure, once more, that the node
// plugin has not staged the volume meanwhile and that nothing uses its disk.
func (n *node) logoutIfStillUnstaged(ctx context.Context, u unstaged) error {
	staged, err := n.staged(u.id)
	if err != nil {
		return err
	}
	if staged {
		return fmt.Errorf("volume %s has been staged since it was checked; left alone", u.id)
	}
	if u.session != nil {
		if users := n.sessionUsers(u.session.ID); len(users) > 0 {
			return fmt.Errorf("its disk is in use now (%s); left alone", strings.Join(users, "; "))
		}
		if err := n.deps.Initiator.Logout(ctx, u.portal, u.iqn); err != nil {
			return err
		}
	}
	return n.deps.Initiator.DeleteRecord(ctx, u.portal, u.iqn)
}
