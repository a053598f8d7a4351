package main

import "testing"

func TestExitCodes(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"help", []string{"--help"}, 0},
		{"version", []string{"--version"}, 0},
		{"unknown flag", []string{"--no-such-flag"}, 2},
		{"no mode", []string{"--volume-group=vg"}, 2},
		{"controller without portal", []string{"--mode=controller", "--volume-group=vg"}, 2},
		{"bad mode", []string{"--mode=storage"}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(tc.args); got != tc.want {
				t.Fatalf("run(%q) = %d, want %d", tc.args, got, tc.want)
			}
		})
	}
}

func TestNodeWithoutInitiatorNameFailsToStart(t *testing.T) {
	dir := t.TempDir()
	got := run([]string{"--mode=node", "--node-id=n1", "--endpoint=unix://" + dir + "/csi.sock",
		"--state-dir=" + dir + "/state", "--initiator-name-file=" + dir + "/missing"})
	if got != 1 {
		t.Fatalf("exit code %d, want 1 (a runtime failure, not a command-line one)", got)
	}
}
