package iscsi

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestSessionStatesReadsSysfs(t *testing.T) {
	sys := t.TempDir()
	if states, err := SessionStates(sys); err != nil || len(states) != 0 {
		t.Fatalf("without iscsi_session in sysfs: %v, %v; want no session", states, err)
	}
	for name, files := range map[string][2]string{
		"session1": {"iqn.2026-11.io.csi.lvm-iscsi:csi-aaaa\n", "LOGGED_IN\n"},
		"session7": {"iqn.2026-11.io.csi.lvm-iscsi:csi-bbbb\n", "FAILED\n"},
	} {
		dir := filepath.Join(sys, "class", "iscsi_session", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "targetname"), []byte(files[0]), 0o644)
		os.WriteFile(filepath.Join(dir, "state"), []byte(files[1]), 0o644)
	}
	// A session being torn down while it is read: its files are gone.
	os.MkdirAll(filepath.Join(sys, "class", "iscsi_session", "session9"), 0o755)
	states, err := SessionStates(sys)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(states, func(a, b SessionState) int { return len(a.State) - len(b.State) })
	want := []SessionState{{"iqn.2026-11.io.csi.lvm-iscsi:csi-bbbb", "FAILED"}, {"iqn.2026-11.io.csi.lvm-iscsi:csi-aaaa", "LOGGED_IN"}}
	if !slices.Equal(states, want) {
		t.Fatalf("SessionStates = %v, want %v", states, want)
	}
}
