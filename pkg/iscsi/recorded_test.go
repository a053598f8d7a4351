package iscsi

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

// Names and values testdata/record.sh used against the real iscsiadm.
const (
	recPortal   = "127.0.0.1:3262"
	recIQN      = "iqn.2026-11.io.csi.lvm-iscsi:vol-test"
	recMissing  = "iqn.2026-11.io.csi.lvm-iscsi:vol-missing"
	recUser     = "chap-user"
	recPassword = "chap-secret-0123456789"
)

// recorded loads one case recorded by testdata/record.sh as a scripted
// call: the argv the real tool was run with (which the code under test must
// build exactly) and what it printed and exited with.
func recorded(t *testing.T, name string) runnertest.Call {
	t.Helper()
	read := func(ext string) string {
		data, err := os.ReadFile(filepath.Join("testdata", "recorded", name+ext))
		if err != nil {
			t.Fatalf("recorded case %s: %v", name, err)
		}
		return string(data)
	}
	code, err := strconv.Atoi(strings.TrimSpace(read(".exit")))
	if err != nil {
		t.Fatalf("recorded case %s: exit code: %v", name, err)
	}
	return runnertest.Call{
		Argv:     strings.Split(strings.TrimSuffix(read(".argv"), "\n"), "\n"),
		Stdout:   read(".stdout"),
		Stderr:   read(".stderr"),
		ExitCode: code,
	}
}

// withOutcome is call's argv with another call's output and exit code, for
// failures that happen to a command in production but were recorded for a
// sibling command (the outcome is still the real tool's).
func withOutcome(call, outcome runnertest.Call) runnertest.Call {
	outcome.Argv = call.Argv
	return outcome
}
