package pool

import (
	"context"
	"errors"
	"fmt"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// Sessions are the costly part of a reading of tgtd: tgtd lists them per
// target (tgtadm show conn --tid N), one call per target with a logged-in
// initiator, so a reading with every target's sessions costs one more
// command per attached volume of the host. Only the reconciler, which
// closes strays and counts sessions on every target, needs them all; a
// call that changes one export reads its target's alone, when a step
// needs them.

// sessionsRead says what a reading of tgtd (tgtState) knows of sessions.
type sessionsRead int

const (
	// sessionsOnDemand: none were read; a step that needs a target's
	// (closing them before the target goes, closing the sessions of
	// initiators that are not published) reads that target's
	// (ensureSessions). Unpublish, delete, a refresh after an expansion.
	sessionsOnDemand sessionsRead = iota
	// sessionsAll: every target's, as tgtd had them (the reconciler).
	sessionsAll
	// sessionsUnneeded: none were read, and the sessions of initiators
	// that are not published are not looked for. Publish: it only adds
	// access, so a session it does not look for is one that was there
	// before it, which no binding admits any more (a login that completed
	// after its initiator was fenced); unpublish and every reconcile close
	// those. An initiator a publication itself unbinds (a node's old
	// initiator name) is still fenced, with its sessions read
	// (fenceInitiator).
	sessionsUnneeded
)

// ensureSessions makes t.Sessions what tgtd has now, unless st has them
// already: every target's, or t's read earlier in this pass under tgtMu,
// through which every change to t goes. A target gone from tgtd has none.
func (p *Pool) ensureSessions(ctx context.Context, st *tgtState, t *tgt.Target) error {
	if st.sessions == sessionsAll || st.sessionsOf[t.TID] {
		return nil
	}
	sessions, err := p.readSessions(ctx, t)
	if err != nil {
		return err
	}
	t.Sessions = sessions
	st.knowSessions(t.TID)
	return nil
}

// knowSessions notes that the sessions of target tid in st are tgtd's.
func (st *tgtState) knowSessions(tid int) {
	if st.sessionsOf == nil {
		st.sessionsOf = map[int]bool{}
	}
	st.sessionsOf[tid] = true
}

// readSessions lists t's sessions from tgtd now; none if t is gone.
func (p *Pool) readSessions(ctx context.Context, t *tgt.Target) ([]tgt.Session, error) {
	sessions, err := p.tgt.TargetSessions(ctx, t.TID, t.IQN)
	if errors.Is(err, tgt.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading the sessions of %s: %w", ErrUnavailable, t.IQN, err)
	}
	return sessions, nil
}
