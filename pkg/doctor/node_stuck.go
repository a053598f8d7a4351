package doctor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
// that timeout: a warning, it may come back by itself.
func (n *node) checkStuckSessions(ctx context.Context) []Finding {
	sessions, err := n.deps.Initiator.Sessions(ctx)
	if err != nil {
		return []Finding{{Severity: Warning, What: "sessions not compared with sysfs: iscsiadm -m session fails: " + err.Error(),
			Fix: "fix the iscsid finding first"}}
	}
	var out []Finding
	ours := 0
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
			out = append(out, Finding{Severity: Warning, What: what + ": reconnecting, I/O waits up to the replacement timeout",
				Fix: "run doctor again after " + tmo + "s; if the target is back and the session is not, " + restartISCSIDFix})
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
