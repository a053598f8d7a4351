package doctor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// setSession writes what the kernel shows of session sid in sysfs: its
// state and its disk's SCSI device state (the disk login made).
func (e *nodeEnv) setSession(t *testing.T, sid int, state, diskState string) {
	t.Helper()
	dir := fmt.Sprintf("class/iscsi_session/session%d", sid)
	write(t, e.sys, dir+"/state", state+"\n")
	write(t, e.sys, dir+"/recovery_tmo", "120\n")
	write(t, e.sys, dir+"/device/target2:0:0/2:0:0:1/state", diskState+"\n")
}

// A session iscsiadm lists whose kernel state is FREE is the open-iscsi
// < 2.1.9 reopen loop: an error whose fix is restarting iscsid.
func TestStuckSessionFreeInSysfs(t *testing.T) {
	e := newNodeEnv(t)
	id, iqn, sid := e.login(t, "pvc-1", "sdb", 16)
	e.stage(t, id)
	e.setSession(t, sid, "FREE", "blocked")
	fs := expect(t, e.checks(), "stuck-session", Error, iqn, "FREE", "systemctl restart iscsid", "2.1.9", fmt.Sprintf("session %d", sid))
	for _, f := range fs {
		if f.AutoFix {
			t.Errorf("restarting the host's iscsid is offered as an automatic fix: %+v", f)
		}
	}
}

// A session in recovery (FAILED) whose disk went transport-offline has been
// down for longer than the replacement timeout: every I/O fails.
func TestStuckSessionFailedPastTheReplacementTimeout(t *testing.T) {
	e := newNodeEnv(t)
	id, iqn, sid := e.login(t, "pvc-1", "sdb", 16)
	e.stage(t, id)
	e.setSession(t, sid, "FAILED", "transport-offline")
	expect(t, e.checks(), "stuck-session", Error, iqn, "FAILED", "transport-offline", "120s", "systemctl restart iscsid", "portal")
}

// A session reconnecting within the replacement timeout to a portal that
// does not answer is a warning: I/O waits, and the session comes back with
// its target.
func TestSessionReconnectingWithinTheTimeoutIsAWarning(t *testing.T) {
	e := newNodeEnv(t)
	id, iqn, sid := e.login(t, "pvc-1", "sdb", 16)
	e.stage(t, id)
	e.setSession(t, sid, "FAILED", "blocked")
	expect(t, e.checks(), "stuck-session", Warning, iqn, "reconnecting", "120s", "portal does not answer", nodePortal, "systemctl restart iscsid")
}

// A session still FAILED although its portal answers is the open-iscsi
// < 2.1.9 reopen loop as the e2e guest showed it after a tgtd restart:
// FAILED, not FREE, with iscsid logging "can't bind conn". An error.
func TestSessionFailedWhilePortalAnswersIsStuck(t *testing.T) {
	e := newNodeEnv(t)
	id, iqn, sid := e.login(t, "pvc-1", "sdb", 16)
	e.stage(t, id)
	e.setSession(t, sid, "FAILED", "blocked")
	e.dial.set(nodePortal, true)
	e.cfg.ReloginGrace = 300 * time.Millisecond
	expect(t, e.checks(), "stuck-session", Error, iqn, "portal answers", "300ms", "can't bind conn", "systemctl restart iscsid")
}

// A session that logs in again within the grace, as iscsid's retry does
// once the target is back, is fine.
func TestSessionLoggingInAgainWithinTheGraceIsFine(t *testing.T) {
	e := newNodeEnv(t)
	id, _, sid := e.login(t, "pvc-1", "sdb", 16)
	e.stage(t, id)
	e.setSession(t, sid, "FAILED", "blocked")
	e.dial.set(nodePortal, true)
	e.cfg.ReloginGrace = time.Minute
	state := filepath.Join(e.sys, fmt.Sprintf("class/iscsi_session/session%d/state", sid))
	go func() {
		time.Sleep(500 * time.Millisecond)
		_ = os.WriteFile(state, []byte("LOGGED_IN\n"), 0o644)
	}()
	expect(t, e.checks(), "stuck-session", OK)
}

// Logged-in sessions, and sessions to other targets, are fine.
func TestStuckSessionIgnoresHealthyAndForeignSessions(t *testing.T) {
	e := newNodeEnv(t)
	id, _, sid := e.login(t, "pvc-1", "sdb", 16)
	e.stage(t, id)
	e.setSession(t, sid, "LOGGED_IN", "running")
	foreign := e.ini.AddSession(nodePortal, "iqn.2001-04.com.example:other")
	e.setSession(t, foreign.ID, "FREE", "blocked")
	expect(t, e.checks(), "stuck-session", OK, "1 session")
	r := Run(context.Background(), "node", e.checks(), false)
	for _, f := range r.Findings {
		if f.ID == "stuck-session" && f.Severity != OK {
			t.Errorf("a foreign or healthy session reported: %+v", f)
		}
	}
}

// Every FAILED session whose portal answers is judged, each named: the
// relogin grace is one for all of them (a storage host's reboot leaves all
// of a node's sessions FAILED), and a session that came back meanwhile is
// fine.
func TestStuckSessionsShareOneGrace(t *testing.T) {
	e := newNodeEnv(t)
	e.dial.set(nodePortal, true)
	e.cfg.ReloginGrace = 300 * time.Millisecond
	var iqns []string
	for i, name := range []string{"pvc-1", "pvc-2", "pvc-3"} {
		id, iqn, sid := e.login(t, name, fmt.Sprintf("sd%c", 'b'+i), 16*(i+1))
		e.stage(t, id)
		e.setSession(t, sid, "FAILED", "blocked")
		iqns = append(iqns, iqn)
		if i == 2 {
			// This one logs in again within the grace.
			state := filepath.Join(e.sys, fmt.Sprintf("class/iscsi_session/session%d/state", sid))
			go func() {
				time.Sleep(100 * time.Millisecond)
				_ = os.WriteFile(state, []byte("LOGGED_IN\n"), 0o644)
			}()
		}
	}
	fs := expect(t, e.checks(), "stuck-session", Error)
	if len(fs) != 2 {
		t.Fatalf("%d findings, want the two sessions still FAILED: %+v", len(fs), fs)
	}
	for i, f := range fs {
		if !strings.Contains(f.What, iqns[i]) {
			t.Errorf("finding %d names %q, want %s", i, f.What, iqns[i])
		}
	}
}
