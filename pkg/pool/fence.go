package pool

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// maxFenceRounds bounds how often fenceInitiator re-reads a target and
// closes what it finds. A login needs a network round trip or more after
// tgtd admitted it, so a few rounds see every login that was under way at
// the unbind; an initiator that is still found after that many is logging
// in faster than it can be closed, and the caller fails rather than loop.
const maxFenceRounds = 5

// fenceInitiator closes every connection initiator has on t once its
// binding is gone. tgtd checks the ACL on a login's first PDU only and
// creates the session when the login completes, several PDUs later: a
// login admitted before the unbind can complete after it, and after any
// listing taken before it. So the target's sessions are read again after
// the unbind and closed, until a reading shows none of the initiator.
// Callers hold tgtMu and have unbound initiator already.
func (p *Pool) fenceInitiator(ctx context.Context, st *tgtState, t *tgt.Target, initiator string) error {
	for range maxFenceRounds {
		sessions, err := p.readSessions(ctx, t)
		if err != nil {
			return err
		}
		t.Sessions = sessions
		st.knowSessions(t.TID)
		if !slices.ContainsFunc(sessions, func(s tgt.Session) bool { return s.Initiator == initiator }) {
			return nil
		}
		if err := p.closeSessions(ctx, t, initiator); err != nil {
			return err
		}
	}
	return fmt.Errorf("initiator %s still had a session on %s after %d rounds of closing its connections; its access is withdrawn (unbound), the retry closes what is left", initiator, t.IQN, maxFenceRounds)
}

// hasStraySessions reports whether t has a session of an initiator that
// is not published to the volume.
func hasStraySessions(t *tgt.Target, want map[string]bool) bool {
	return slices.ContainsFunc(t.Sessions, func(s tgt.Session) bool { return !want[s.Initiator] })
}

// closeStraySessions closes the sessions of initiators that are not
// published to the volume, although no binding admits them any more: a
// login held half-way through while its initiator was fenced and completed
// afterwards. Every reconcile comes through here, so such a session lasts
// at most one --reconcile-interval.
func (p *Pool) closeStraySessions(ctx context.Context, t *tgt.Target, want map[string]bool) error {
	stray := map[string]bool{}
	for _, s := range t.Sessions {
		if !want[s.Initiator] && !stray[s.Initiator] {
			stray[s.Initiator] = true
			klog.InfoS("Closing the session of an initiator not published to this volume", "iqn", t.IQN, "initiator", s.Initiator, "sid", s.SID)
			if err := p.closeSessions(ctx, t, s.Initiator); err != nil {
				return err
			}
		}
	}
	return nil
}
