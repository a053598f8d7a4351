package lvm

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

// The recordings under testdata/ come from real lvm2 2.03.16 in a guest
// with device-mapper, made by testdata/record.sh: NAME.stdout, NAME.stderr
// and NAME.rc hold what one command printed and its exit code.

func readRecording(t *testing.T, name, ext string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+"."+ext))
	if err != nil {
		t.Fatalf("recording %s: %v", name, err)
	}
	return string(b)
}

// recorded is a scripted call for argv that plays back recording name. It
// fails the test unless argv is the command line the recording was made
// with, so each expected argv is one real lvm accepted.
func recorded(t *testing.T, name string, argv ...string) runnertest.Call {
	t.Helper()
	if want := strings.Split(strings.TrimSuffix(readRecording(t, name, "argv"), "\n"), "\n"); len(argv) > 0 && !slices.Equal(argv, want) {
		t.Errorf("recording %s was made with %q, the test expects %q", name, want, argv)
	}
	rc, err := strconv.Atoi(strings.TrimSpace(readRecording(t, name, "rc")))
	if err != nil {
		t.Fatalf("recording %s: exit code: %v", name, err)
	}
	return runnertest.Call{
		Argv:     argv,
		Stdout:   readRecording(t, name, "stdout"),
		Stderr:   readRecording(t, name, "stderr"),
		ExitCode: rc,
	}
}

// recordedError is the *runner.ExitError a failed recording stands for.
func recordedError(t *testing.T, name string) error {
	t.Helper()
	c := recorded(t, name)
	if c.ExitCode == 0 {
		t.Fatalf("recording %s did not fail", name)
	}
	return &runner.ExitError{Command: name, ExitCode: c.ExitCode, Stderr: c.Stderr}
}

// newTestLVM returns an LVM whose commands must be exactly calls, in order,
// and that retries removals without waiting.
func newTestLVM(t *testing.T, calls ...runnertest.Call) *LVM {
	t.Helper()
	l := New(runner.New(runnertest.NewFake(t, calls...), 0), 1)
	l.removeRetryDelays = []time.Duration{0, 0, 0}
	return l
}

// Argv builders mirroring testdata/record.sh.
func vgsArgv(vg string) []string {
	return []string{"vgs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o", vgFields, vg}
}

func lvsArgv(target string) []string {
	return []string{"lvs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o", lvFields, target}
}
