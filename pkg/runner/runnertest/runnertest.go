// Package runnertest scripts k8s.io/utils/exec fakes for the tool packages'
// unit tests: each expected call names its full argv and what the "command"
// prints and exits with, and a test fails when the code under test runs
// anything else, in another order, or fewer commands than scripted.
package runnertest

import (
	"strings"
	"testing"

	utilexec "k8s.io/utils/exec"
	testingexec "k8s.io/utils/exec/testing"
)

// Call is one expected command and its scripted outcome.
type Call struct {
	Argv     []string // command name first
	Stdout   string
	Stderr   string
	ExitCode int // non-zero makes the command fail with this code
}

// Fake is an exec.Interface that plays Calls in order.
type Fake struct {
	*testingexec.FakeExec
	t     testing.TB
	calls []Call
	// Seen holds the argv of every command run, for assertions.
	Seen [][]string
}

// NewFake returns a Fake that expects exactly calls, in order. At the end of
// the test it fails if any scripted call was not made.
func NewFake(t testing.TB, calls ...Call) *Fake {
	t.Helper()
	f := &Fake{FakeExec: &testingexec.FakeExec{}, t: t, calls: calls}
	for i := range calls {
		c := calls[i]
		f.CommandScript = append(f.CommandScript, func(name string, args ...string) utilexec.Cmd {
			argv := append([]string{name}, args...)
			f.Seen = append(f.Seen, argv)
			if strings.Join(argv, "\x00") != strings.Join(c.Argv, "\x00") {
				t.Errorf("command %d: got %q, want %q", len(f.Seen)-1, argv, c.Argv)
			}
			cmd := &testingexec.FakeCmd{RunScript: []testingexec.FakeAction{func() ([]byte, []byte, error) {
				if c.ExitCode != 0 {
					return []byte(c.Stdout), []byte(c.Stderr), testingexec.FakeExitError{Status: c.ExitCode}
				}
				return []byte(c.Stdout), []byte(c.Stderr), nil
			}}}
			return testingexec.InitFakeCmd(cmd, name, args...)
		})
	}
	t.Cleanup(func() {
		if f.CommandCalls != len(f.calls) {
			t.Errorf("ran %d of %d scripted commands; ran %q", f.CommandCalls, len(f.calls), f.Seen)
		}
	})
	return f
}

// Argv is a convenience for building Call.Argv from one space-separated
// string (no argument may contain a space).
func Argv(line string) []string { return strings.Fields(line) }
