package doctor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// restartISCSIDFix is docs/troubleshooting.md's remedy for a session
// open-iscsi before 2.1.9 leaves stuck: at start iscsid syncs the kernel's
// sessions and reopens each with a stop, which clears the state; the
// sessions and disks stay. It restarts the host's daemon, which a pod
// cannot do safely for the host, so it is never an automatic fix.
const restartISCSIDFix = "restart iscsid on this node (systemctl restart iscsid): the sessions and disks stay, and I/O queued " +
	"within the replacement timeout completes; for good, open-iscsi 2.1.9 or later on the nodes (docs/troubleshooting.md, " +
	"\"A session that never comes back after a target restart\")"

// checkStuckSessions compares each session of ours iscsiadm lists with the
// kernel's view in sysfs (<sys>/class/iscsi_session/session<SID>): open-iscsi
// before 2.1.9 can leave a session FREE in the kernel after a target restart
// while iscsid retries 'can't bind conn' forever and iscsiadm still lists
// it, and a session in recovery (FAILED) whose disks went transport-offline
// has been down for longer than its replacement timeout (recovery_tmo): its
// I/O fails. A FAILED session whose disks still wait (blocked) is within
// that timeout: see reconnecting.
func (n *node) checkStuckSessions(ctx context.Context) []Finding {
	sessions, err := n.deps.Initiator.Sessions(ctx)
	if err != nil {
		return []Finding{{Severity: Warning, What: "sessions not compared with sysfs: iscsiadm -m session fails: " + err.Error(),
			Fix: "fix the iscsid finding first"}}
	}
	var out []Finding
	ours := 0
	// One relogin grace for all the sessions waited on, not one each: a
	// storage host's reboot leaves every session of the node FAILED.
	var reloginBy time.Time
	for _, s := range sessions {
		if n.volumeOf(s.IQN) == "" {
			continue
		}
		ours++
		dir := filepath.Join(n.cfg.SysRoot, "class", "iscsi_session", fmt.Sprintf("session%d", s.ID))
		state := readTrimmed(filepath.Join(dir, "state"))
		if state == "" || state == "LOGGED_IN" {
			continue // gone meanwhile, or fine
		}
		tmo := readTrimmed(filepath.Join(dir, "recovery_tmo"))
		if tmo == "" {
			tmo = "?"
		}
		disks := diskStates(dir)
		what := fmt.Sprintf("session %d to %s at %s (volume %s) is %s in the kernel (disk states: %s; replacement timeout %ss) while iscsiadm lists it",
			s.ID, s.IQN, s.Portal, n.volumeOf(s.IQN), state, strings.Join(disks, ", "), tmo)
		switch {
		case state == "FREE":
			out = append(out, Finding{Severity: Error, What: what + ": the open-iscsi < 2.1.9 reopen loop (iscsid logs \"can't bind conn\"); it never recovers by itself",
				Fix: restartISCSIDFix})
		case slices.Contains(disks, "transport-offline") || slices.Contains(disks, "offline"):
			out = append(out, Finding{Severity: Error, What: what + ": in recovery for longer than the replacement timeout, every I/O to its disk fails",
				Fix: "check that the storage host's tgtd is up and that this node reaches the portal " + s.Portal + " (doctor on the storage host); " +
					"once it does, if the session stays FAILED, " + restartISCSIDFix + "; past the timeout, delete the pods using the volume on this node so it is staged afresh"})
		default:
			if f, stuck := n.reconnecting(ctx, s.Portal, dir, what, &reloginBy); stuck {
				out = append(out, f)
			}
		}
	}
	for i := range out {
		out[i].ID = "stuck-session"
	}
	if len(out) == 0 {
		out = append(out, ok("stuck-session", fmt.Sprintf("%d session(s) of this driver, each LOGGED_IN in the kernel", ours)))
	}
	return out
}

// reconnecting judges a FAILED session whose disks still wait (blocked).
// The kernel shows the open-iscsi < 2.1.9 reopen loop the same way as a
// session waiting for its target to come back: FAILED, sometimes FREE,
// its connection "failed" in both (seen in the e2e guest, where one tgtd
// restart in a few leaves the session FAILED with iscsid logging "can't
// bind conn" forever). What tells them apart is the portal: while it
// does not answer, the session is reconnecting and comes back with its
// target (a warning); when it answers, iscsid logs in again within a few
// seconds (it retries every 2-3 s), so a session still FAILED after
// ReloginGrace is stuck (an error). The grace starts with the first
// session waited on (*by, set then) and ends for all at once. stuck is
// false when the session logged in again meanwhile.
func (n *node) reconnecting(ctx context.Context, portal, dir, what string, by *time.Time) (f Finding, stuck bool) {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	err := n.deps.Dial(dctx, "tcp", portal)
	cancel()
	if err != nil {
		return Finding{Severity: Warning, What: fmt.Sprintf("%s: reconnecting, the portal does not answer (%v); I/O waits up to the replacement timeout", what, err),
			Fix: "bring the target back: doctor on the storage host (tgtd running and listening on " + portal + ") and this node's route to it; " +
				"if the portal answers and the session stays FAILED, " + restartISCSIDFix}, true
	}
	grace := n.cfg.ReloginGrace
	if grace <= 0 {
		grace = DefaultReloginGrace
	}
	if by.IsZero() {
		*by = time.Now().Add(grace)
	}
	if waitLoggedIn(ctx, filepath.Join(dir, "state"), *by) {
		return Finding{}, false
	}
	return Finding{Severity: Error, What: fmt.Sprintf("%s: the portal answers, yet the session has not logged in again within %s: the open-iscsi < 2.1.9 "+
		"reopen loop (iscsid logs \"can't bind conn\"), which never recovers by itself, or the target is not exported to this node (doctor on the storage host)", what, grace),
		Fix: restartISCSIDFix}, true
}

// DefaultReloginGrace is how long a FAILED session whose portal answers
// may take to log in again before the doctor calls it stuck: a few of
// iscsid's 2-3 s retries.
const DefaultReloginGrace = 15 * time.Second

// waitLoggedIn polls a session's sysfs state until it reads LOGGED_IN,
// until deadline.
func waitLoggedIn(ctx context.Context, stateFile string, deadline time.Time) bool {
	for {
		if readTrimmed(stateFile) == "LOGGED_IN" {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// diskStates are the SCSI device states (running, blocked,
// transport-offline, offline) of a session's LUNs.
func diskStates(sessionDir string) []string {
	paths, _ := filepath.Glob(filepath.Join(sessionDir, "device", "target*", "*:*:*:*", "state"))
	var out []string
	for _, p := range paths {
		if s := readTrimmed(p); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		out = []string{"none"}
	}
	return out
}

func readTrimmed(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
