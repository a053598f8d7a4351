package pool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// A LUN's size is refreshed with none of its target's commands in flight.
//
// tgtd re-reads a size only by closing and reopening the LUN's backing store
// (tgt.RefreshLUN), and its I/O threads take the LUN's file descriptor
// without a lock: a command queued to them at that moment runs on the closed
// descriptor, or on descriptor 0, which tgtd stores in its place until the
// reopen. A real-kernel CI run showed it: a write under fio failed with
// ENODATA (tgtd's MEDIUM ERROR) during an online expansion. Where tgtd's
// stdin is /dev/null, such a write would even be acknowledged and lost.
//
// So the target is quiesced first:
//   - offline: tgtd refuses logins to it, with an error initiators retry;
//   - its connections closed: the initiator keeps its session (the same
//     SCSI disk) and holds its I/O while it logs in again, for up to its
//     replacement timeout;
//   - tgtd lists a closed connection until its last command has finished
//     (each command holds its connection), so an empty listing of the
//     target's sessions means nothing of it is in flight.
//
// Then the refresh, and the target ready again whatever happened. A crash in
// between leaves it offline, which the next syncTarget (every reconcile pass,
// and the next publish or expansion) undoes. The node sees a pause of one
// login; its I/O resumes on the same session.
//
// One window is left: tgtd checks the state on a login's first PDU, and
// lists the session only once the login completes. A login that began
// before the target went offline and completes between the last empty
// listing and the refresh (two tgtadm calls apart) could have a command in
// flight then. It takes a node logging in to the volume at the moment it
// is expanded, which a mounted volume's node does only to recover its
// session.

// drainPoll bounds the wait between two readings of a draining target's
// sessions.
const drainPoll = 500 * time.Millisecond

// readyAgainTimeout bounds the call that sets a target ready again after a
// refresh, which runs even when the caller's context has ended.
const readyAgainTimeout = 30 * time.Second

// refreshLUN makes tgtd re-read the size of t's LUN, backed by path, with
// nothing of t in flight (above). Callers hold tgtMu and have guarded t.
func (p *Pool) refreshLUN(ctx context.Context, st *tgtState, t *tgt.Target, path string) (err error) {
	if err := p.tgt.SetTargetState(ctx, t.TID, tgt.StateOffline); err != nil {
		return fmt.Errorf("taking %s offline to refresh its size: %w", t.IQN, err)
	}
	t.State = tgt.StateOffline
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyAgainTimeout)
		defer cancel()
		if rerr := p.tgt.SetTargetState(rctx, t.TID, tgt.StateReady); rerr != nil {
			err = errors.Join(err, fmt.Errorf("setting %s ready again after refreshing its size (the next reconcile pass will): %w", t.IQN, rerr))
			return
		}
		t.State = tgt.StateReady
		// Its nodes log in again from now on: a later step of this call
		// that needs its sessions reads them anew (ensureSessions).
		delete(st.sessionsOf, t.TID)
	}()
	if err := p.drainTarget(ctx, t); err != nil {
		return err
	}
	return p.tgt.RefreshLUN(ctx, t.TID, lunNumber, path)
}

// drainTarget closes every connection of offline target t and waits until
// tgtd has released them all, that is until their commands have finished,
// for up to lunDrainTimeout. A session tgtd lists later (a login that had
// passed the state check before t went offline) is closed in its turn.
func (p *Pool) drainTarget(ctx context.Context, t *tgt.Target) error {
	deadline := time.Now().Add(lunDrainTimeout)
	closed := map[[2]int]bool{} // session and connection ids
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, drainPoll) {
		sessions, err := p.readSessions(ctx, t)
		if err != nil {
			return err
		}
		t.Sessions = sessions
		if len(sessions) == 0 {
			return nil
		}
		open := tgt.Target{TID: t.TID, IQN: t.IQN}
		for _, s := range sessions {
			s.Connections = slices.DeleteFunc(slices.Clone(s.Connections), func(c tgt.Connection) bool { return closed[[2]int{s.SID, c.CID}] })
			if len(s.Connections) > 0 {
				open.Sessions = append(open.Sessions, s)
			}
		}
		if err := p.closeSessions(ctx, &open, ""); err != nil {
			return err
		}
		for _, s := range open.Sessions {
			for _, c := range s.Connections {
				closed[[2]int{s.SID, c.CID}] = true
			}
		}
		if time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("%w: %s still has commands in flight after %v; its size is refreshed on a retry", ErrUnavailable, t.IQN, lunDrainTimeout)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("%w: waiting for the commands of %s to finish: %w", ErrUnavailable, t.IQN, ctx.Err())
		}
	}
}

// readyTarget sets t ready if a refresh left it offline (a crash, or a
// failed call to set it ready). Callers hold tgtMu and have guarded t.
func (p *Pool) readyTarget(ctx context.Context, t *tgt.Target) error {
	if t.State != tgt.StateOffline {
		return nil
	}
	if err := p.tgt.SetTargetState(ctx, t.TID, tgt.StateReady); err != nil {
		return fmt.Errorf("setting %s ready again: %w", t.IQN, err)
	}
	klog.InfoS("Set a target ready again that a size refresh had left offline", "iqn", t.IQN, "tid", t.TID)
	t.State = tgt.StateReady
	return nil
}
