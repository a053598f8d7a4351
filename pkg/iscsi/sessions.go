package iscsi

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
)

// Sessions implements Initiator. "No active sessions." (exit 21) is an
// empty list.
func (a *Iscsiadm) Sessions(ctx context.Context) ([]Session, error) {
	var out []byte
	err := a.locked(ctx, func() error {
		var err error
		out, err = a.run.Run(ctx, "iscsiadm", "-m", "session")
		return err
	})
	if runner.ExitCode(err) == exitNoObjectsFound {
		return []Session{}, nil
	}
	if err != nil {
		return nil, classify("listing iSCSI sessions", err)
	}
	return parseSessions(string(out))
}

// parseSessions reads iscsiadm -m session's default listing, one session a
// line:
//
//	tcp: [3] 10.0.0.5:3260,1 iqn.2026-11.io.csi.lvm-iscsi:vol-x (non-flash)
//
// An IPv6 portal is bracketed, "[fd00::5]:3260,1". A line that does not
// fit is an error rather than skipped: a session we cannot see is a
// session nobody logs out of.
func parseSessions(out string) ([]Session, error) {
	sessions := []Session{}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		s, err := parseSessionLine(line)
		if err != nil {
			return nil, err
		}
		sessions = append(sessions, s)
	}
	return sessions, nil
}

func parseSessionLine(line string) (Session, error) {
	bad := fmt.Errorf("unexpected line in iscsiadm -m session output: %q", line)
	fields := strings.Fields(line)
	if len(fields) < 4 || !strings.HasSuffix(fields[0], ":") {
		return Session{}, bad
	}
	sid, ok := strings.CutPrefix(fields[1], "[")
	if !ok {
		return Session{}, bad
	}
	sid, ok = strings.CutSuffix(sid, "]")
	if !ok {
		return Session{}, bad
	}
	// iscsiadm prints the id as %u: anything but plain digits ("+1",
	// "01") is not its output.
	id, err := strconv.Atoi(sid)
	if err != nil || id < 0 || strconv.Itoa(id) != sid {
		return Session{}, bad
	}
	// The portal is followed by ",TPGT" (the target portal group tag).
	comma := strings.LastIndex(fields[2], ",")
	if comma <= 0 {
		return Session{}, bad
	}
	return Session{ID: id, Portal: fields[2][:comma], IQN: fields[3]}, nil
}

// Rescan implements Initiator. A session that no longer exists makes
// iscsiadm fail with exit 2, 21 or 22 (recorded here: "Could not get
// session info for sid 1", 22); all are ErrNotFound.
func (a *Iscsiadm) Rescan(ctx context.Context, sessionID int) error {
	if sessionID <= 0 {
		return fmt.Errorf("%w: session id %d", ErrInvalidArgument, sessionID)
	}
	what := fmt.Sprintf("rescanning iSCSI session %d", sessionID)
	return a.locked(ctx, func() error {
		_, err := a.run.Run(ctx, "iscsiadm", "-m", "session", "-r", strconv.Itoa(sessionID), "--rescan")
		if err == nil {
			return nil
		}
		if runner.ExitCode(err) == exitSysfsLookup {
			return classify(what, err, ErrNotFound)
		}
		return classify(what, err)
	})
}
