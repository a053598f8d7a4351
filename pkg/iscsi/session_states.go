package iscsi

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// SessionState is one iSCSI session as the kernel shows it in sysfs.
type SessionState struct {
	Target string // the target's IQN
	// State is the kernel's session state: LOGGED_IN, FAILED (the
	// connection is down and the initiator is reconnecting, I/O waits up
	// to the replacement timeout) or FREE (being torn down).
	State string
}

// SessionStates reads every iSCSI session of the host from
// <sysRoot>/class/iscsi_session, without running iscsiadm or taking its
// lock: a few small file reads, cheap enough for every metrics scrape.
// No such directory (iscsi_tcp not loaded yet) means no session.
func SessionStates(sysRoot string) ([]SessionState, error) {
	dir := filepath.Join(sysRoot, "class", "iscsi_session")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing iSCSI sessions in sysfs: %w", err)
	}
	var states []SessionState
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "session") {
			continue
		}
		target, err1 := os.ReadFile(filepath.Join(dir, e.Name(), "targetname"))
		state, err2 := os.ReadFile(filepath.Join(dir, e.Name(), "state"))
		if errors.Is(err1, fs.ErrNotExist) || errors.Is(err2, fs.ErrNotExist) {
			continue // logged out between the listing and the reads
		}
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("reading iSCSI %s in sysfs: %w", e.Name(), err)
		}
		states = append(states, SessionState{Target: strings.TrimSpace(string(target)), State: strings.TrimSpace(string(state))})
	}
	return states, nil
}
