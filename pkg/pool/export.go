package pool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// lunNumber is the one LUN of every target, as the node expects it.
const lunNumber = publish.LUN

// tgtState is one reading of tgtd, taken under tgtMu and kept up to date by
// the changes made while the lock is held.
type tgtState struct {
	targets  []tgt.Target
	accounts map[string]bool
	checks   bindingChecks // see guard
	// sessions says whether targets' Sessions were read (sessions.go);
	// sessionsOf are the tids whose sessions were read since.
	sessions   sessionsRead
	sessionsOf map[int]bool
}

// readTgt is the full reading of tgtd: every target with its sessions, and
// every account (the reconciler; a change of one export reads less:
// tgtread.go).
func (p *Pool) readTgt(ctx context.Context) (*tgtState, error) {
	targets, err := p.tgt.ListTargets(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: reading tgtd's targets: %w", ErrUnavailable, err)
	}
	st, err := newTgtState(targets, sessionsAll)
	if err != nil {
		return nil, err
	}
	if err := p.readAccounts(ctx, st); err != nil {
		return nil, err
	}
	return st, nil
}

func (st *tgtState) find(iqn string) *tgt.Target {
	for i := range st.targets {
		if st.targets[i].IQN == iqn {
			return &st.targets[i]
		}
	}
	return nil
}

// syncTarget makes tgtd export one volume exactly as its tags say: no
// target when no node is published; otherwise one target with LUN 1 backed
// by the LV, the LUN serial set to the volume id (so a node can tell the
// disk is the one it asked for), its publications' CHAP accounts bound (accounts.go), and an
// ACL naming exactly the published initiators. Publish, Unpublish, Delete
// and Reconcile all converge through here, so there is one definition of
// "correct". Callers hold tgtMu.
func (p *Pool) syncTarget(ctx context.Context, st *tgtState, lv *lvm.LV, nodes []Node, prov Provisioning) error {
	id := lv.Name
	iqn := p.IQN(id)
	t := st.find(iqn)
	if t != nil {
		if err := p.guard(ctx, st, t, iqn, false); err != nil {
			return err
		}
	}
	if len(nodes) == 0 {
		if t != nil {
			if err := p.removeTarget(ctx, st, t); err != nil {
				return err
			}
		}
		return p.removeAccounts(ctx, st, id)
	}

	if !lv.Active {
		if err := p.lvm.Activate(ctx, p.cfg.VolumeGroup, id); err != nil {
			return fmt.Errorf("activating %s: %w", id, err)
		}
	}
	if t == nil {
		var err error
		if t, err = p.createTarget(ctx, st, iqn); err != nil {
			return err
		}
	} else if err := p.readyTarget(ctx, t); err != nil {
		return err
	}
	if err := p.syncLUN(ctx, st, t, lv, prov); err != nil {
		return err
	}
	if err := p.syncAccounts(ctx, st, t, lv, nodes); err != nil {
		// Fencing must not wait for the CHAP key: the ACL still loses
		// whoever is no longer published, but no one new is let in.
		return errors.Join(err, p.syncACL(ctx, st, t, boundOnly(t, nodes)))
	}
	return p.syncACL(ctx, st, t, nodes)
}

func (p *Pool) createTarget(ctx context.Context, st *tgtState, iqn string) (*tgt.Target, error) {
	tid := tgt.FreeTID(st.targets)
	if err := p.tgt.CreateTarget(ctx, tid, iqn); err != nil {
		return nil, fmt.Errorf("creating target %s (tid %d): %w", iqn, tid, err)
	}
	klog.InfoS("Created target", "iqn", iqn, "tid", tid)
	st.checks.trust(tid) // tgtd took this tid and name together
	st.knowSessions(tid) // and it has no ACL yet: no one can be logged in
	st.targets = append(st.targets, tgt.Target{TID: tid, IQN: iqn})
	return &st.targets[len(st.targets)-1], nil
}

func devicePath(vg string, lv *lvm.LV) string {
	if lv.Path != "" {
		return lv.Path
	}
	return "/dev/" + vg + "/" + lv.Name
}

func (p *Pool) syncLUN(ctx context.Context, st *tgtState, t *tgt.Target, lv *lvm.LV, prov Provisioning) error {
	// No thin_provisioning=1, not even for thin volumes: tgt's rdwr backing
	// store implements UNMAP and WRITE SAME with the UNMAP bit as
	// fallocate(PUNCH_HOLE), which a block device turns into a zero-out
	// without fallback that dm-thin does not offer: every UNMAP fails, and
	// a failed WRITE SAME (ext4's lazy inode-table init zeroes with it)
	// made ext4 abort its journal and go read-only in the real-kernel runs.
	// Without the flag the initiator sees no discard support and zeroes by
	// writing; thin space is not reclaimed from the node (docs/snapshots-and-expansion.md).
	// The write cache is set with the serial, in one tgtadm update (AddLUN
	// removes a LUN whose update failed), so a LUN of ours always has the
	// setting its tags ask for; tgtd does not list it, and it never changes
	// for a volume.
	want := tgt.LUNParams{SCSIID: lv.Name, SCSISN: lv.Name, WriteCacheOff: parseTags(lv.Tags).wcOff}
	path := devicePath(p.cfg.VolumeGroup, lv)
	iqn := p.IQN(lv.Name)
	for i, l := range t.LUNs {
		if l.Number != lunNumber {
			continue
		}
		if l.BackingStore == path && l.SCSISN == want.SCSISN && l.SCSIID == want.SCSIID {
			if lunTooSmall(l.Size, lv.Size) {
				// The LV grew (expansion, or a crash before the refresh).
				if err := p.checkExportable(ctx, lv); err != nil {
					return err
				}
				if err := p.guard(ctx, st, t, iqn, true); err != nil {
					return err
				}
				if err := p.refreshLUN(ctx, st, t, path); err != nil {
					return fmt.Errorf("refreshing the size of %s: %w", t.IQN, err)
				}
				klog.InfoS("Refreshed LUN size", "iqn", t.IQN, "from", l.Size, "to", lv.Size)
				t.LUNs[i].Size = lv.Size
			}
			return nil
		}
		// The LUN exists but is not this volume's disk (a hand edit, or tgt
		// derived the serial itself): a node must never see it under our
		// IQN, so it is replaced.
		klog.InfoS("Replacing a LUN that does not match its volume", "iqn", t.IQN, "backingStore", l.BackingStore, "serial", l.SCSISN)
		if err := p.guard(ctx, st, t, iqn, true); err != nil {
			return err
		}
		if err := p.tgt.DeleteLUN(ctx, t.TID, lunNumber); err != nil {
			return fmt.Errorf("removing mismatched LUN of %s: %w", t.IQN, err)
		}
		t.LUNs = slices.Delete(t.LUNs, i, i+1)
		break
	}
	if err := p.checkExportable(ctx, lv); err != nil {
		return err
	}
	if err := p.guard(ctx, st, t, iqn, true); err != nil {
		return err
	}
	if err := p.setTargetParams(ctx, t); err != nil {
		return err
	}
	if err := p.tgt.AddLUN(ctx, t.TID, lunNumber, path, want); err != nil {
		return fmt.Errorf("adding LUN %d (%s) to %s: %w", lunNumber, path, t.IQN, err)
	}
	t.LUNs = append(t.LUNs, tgt.LUN{Number: lunNumber, BackingStore: path, SCSIID: want.SCSIID, SCSISN: want.SCSISN, Online: true})
	return nil
}

// checkExportable is asked before tgtd reads an LV's size (a new LUN, a
// refresh): a thick LV whose new space is not zeroed yet must not be shown
// whole (grow.go). Thin LVs read zeroes wherever nothing was written.
func (p *Pool) checkExportable(ctx context.Context, lv *lvm.LV) error {
	if lv.IsThinVolume() {
		return nil
	}
	return p.checkNotGrowing(ctx, lv.Name)
}

// lunTooSmall compares tgtd's LUN size, which it prints rounded to whole
// megabytes (10^6), with the LV's: a difference of more than that rounding
// means tgtd still has an older size.
func lunTooSmall(lunSize, lvSize uint64) bool {
	return lunSize+1_000_000 < lvSize
}

// syncACL binds exactly the published initiators. An initiator that lost
// its publication is unbound and its connections closed, so a fenced node
// cannot keep writing through a session it already had (fence.go: also
// the sessions of logins that complete after the unbind).
func (p *Pool) syncACL(ctx context.Context, st *tgtState, t *tgt.Target, nodes []Node) error {
	want := map[string]bool{}
	for _, n := range nodes {
		want[n.Initiator] = true
	}
	for _, addr := range t.ACLs {
		klog.InfoS("Target has an address ACL this driver never sets; leaving it, but it widens access", "iqn", t.IQN, "acl", addr)
	}
	for _, name := range slices.Clone(t.InitiatorNames) {
		if want[name] {
			continue
		}
		if err := p.guard(ctx, st, t, t.IQN, true); err != nil {
			return err
		}
		if err := p.tgt.UnbindInitiator(ctx, t.TID, name); err != nil && !errors.Is(err, tgt.ErrNotFound) {
			return fmt.Errorf("unbinding %s from %s: %w", name, t.IQN, err)
		}
		t.InitiatorNames = slices.DeleteFunc(t.InitiatorNames, func(s string) bool { return s == name })
		if err := p.fenceInitiator(ctx, st, t, name); err != nil {
			return err
		}
	}
	if st.sessions != sessionsUnneeded {
		if err := p.ensureSessions(ctx, st, t); err != nil {
			return err
		}
		if hasStraySessions(t, want) {
			if err := p.guard(ctx, st, t, t.IQN, true); err != nil {
				return err
			}
			if err := p.closeStraySessions(ctx, t, want); err != nil {
				return err
			}
		}
	}
	for _, n := range nodes {
		if slices.Contains(t.InitiatorNames, n.Initiator) {
			continue
		}
		if err := p.tgt.BindInitiator(ctx, t.TID, n.Initiator); err != nil && !errors.Is(err, tgt.ErrExists) {
			return fmt.Errorf("binding %s to %s: %w", n.Initiator, t.IQN, err)
		}
		t.InitiatorNames = append(t.InitiatorNames, n.Initiator)
	}
	return nil
}

// closeSessions closes the connections of one initiator ("" means all).
func (p *Pool) closeSessions(ctx context.Context, t *tgt.Target, initiator string) error {
	for _, s := range t.Sessions {
		if initiator != "" && s.Initiator != initiator {
			continue
		}
		for _, c := range s.Connections {
			if err := p.tgt.CloseConnection(ctx, t.TID, s.SID, c.CID); err != nil && !errors.Is(err, tgt.ErrNotFound) {
				return fmt.Errorf("closing connection %d of session %d on %s: %w", c.CID, s.SID, t.IQN, err)
			}
			klog.InfoS("Closed initiator connection", "iqn", t.IQN, "initiator", s.Initiator, "sid", s.SID, "cid", c.CID)
		}
	}
	return nil
}

func (p *Pool) removeTarget(ctx context.Context, st *tgtState, t *tgt.Target) error {
	if err := p.guard(ctx, st, t, t.IQN, true); err != nil {
		return err
	}
	if err := p.ensureSessions(ctx, st, t); err != nil {
		return err
	}
	if err := p.closeSessions(ctx, t, ""); err != nil {
		return err
	}
	if err := p.deleteTarget(ctx, t.TID); err != nil && !errors.Is(err, tgt.ErrNotFound) {
		return fmt.Errorf("deleting target %s: %w", t.IQN, err)
	}
	klog.InfoS("Deleted target", "iqn", t.IQN, "tid", t.TID)
	iqn := t.IQN
	st.targets = slices.DeleteFunc(st.targets, func(x tgt.Target) bool { return x.IQN == iqn })
	return nil
}

// lunDrainTimeout bounds how long a target delete waits for its LUN's
// commands in flight: tgtd refuses to delete a LUN with commands queued or
// running ("this logical unit is still active") even with --force, and
// commands of a closed connection still finish in the backing store, which
// takes as long as a write to the disk.
const lunDrainTimeout = 30 * time.Second

// deleteTarget deletes target tid (with --force: its sessions are closed),
// trying again while tgtd says its LUN is still busy with commands of a
// node that was writing (a force-detach), for up to lunDrainTimeout.
func (p *Pool) deleteTarget(ctx context.Context, tid int) error {
	deadline := time.Now().Add(lunDrainTimeout)
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		err := p.tgt.DeleteTarget(ctx, tid)
		if !errors.Is(err, tgt.ErrBusy) || time.Now().Add(wait).After(deadline) {
			return err
		}
		klog.V(2).InfoS("Target's LUN still has commands in flight; deleting it again shortly", "tid", tid, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		}
	}
}

// ourTarget returns the volume id of a target this driver made, or "".
func (p *Pool) ourTarget(iqn string) string {
	id, ok := publish.VolumeIDOf(iqn)
	if !ok || !ValidVolumeID(id) || iqn != p.IQN(id) {
		return ""
	}
	return id
}
