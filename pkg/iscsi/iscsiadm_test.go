package iscsi

import (
	"path/filepath"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

// newTestIscsiadm returns an Iscsiadm whose commands must be exactly calls,
// with its lock file in a temporary directory.
func newTestIscsiadm(t *testing.T, calls ...runnertest.Call) *Iscsiadm {
	t.Helper()
	fake := runnertest.NewFake(t, calls...)
	return New(runner.New(fake, 0), filepath.Join(t.TempDir(), "lock", "iscsiadm.lock"))
}

// succeeded is call with its output dropped and exit code 0: the outcome
// of a command this host cannot complete (a real login) but the code only
// reads the exit code of.
func succeeded(call runnertest.Call) runnertest.Call {
	return runnertest.Call{Argv: call.Argv}
}
