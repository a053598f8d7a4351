package toolerr

import (
	"errors"
	"fmt"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
)

var shared = []error{ErrNotFound, ErrExists, ErrNoSpace, ErrInUse, ErrInvalid, ErrUnavailable}

func TestSentinelsAreDistinct(t *testing.T) {
	for i, a := range shared {
		for j, b := range shared {
			if i != j && errors.Is(a, b) {
				t.Errorf("%v matches %v", a, b)
			}
		}
	}
}

func TestErrorMatchesItsKindsAndKeepsTheCause(t *testing.T) {
	exit := &runner.ExitError{Command: "lvcreate -n x vg", ExitCode: 5, Stderr: "  Volume group \"vg\" has insufficient free space\n"}
	own := errors.New("tool-specific")
	var err error = &Error{Tool: "lvm", Op: "create logical volume vg/x", Kinds: []error{ErrNoSpace, own}, Err: exit}
	// A caller wrapping it with its own sentinel keeps everything reachable.
	callerSentinel := errors.New("pool: not enough space")
	err = fmt.Errorf("%w: %w", callerSentinel, err)

	for _, want := range []error{callerSentinel, ErrNoSpace, own} {
		if !errors.Is(err, want) {
			t.Errorf("errors.Is(%v, %v) = false", err, want)
		}
	}
	for _, other := range shared {
		if other != ErrNoSpace && errors.Is(err, other) {
			t.Errorf("error also matches %v", other)
		}
	}
	var got *runner.ExitError
	if !errors.As(err, &got) || got != exit || runner.ExitCode(err) != 5 {
		t.Errorf("errors.As does not reach the *runner.ExitError through %v", err)
	}
	var te *Error
	if !errors.As(err, &te) || te.Tool != "lvm" {
		t.Errorf("errors.As does not reach the *Error through %v", err)
	}
}

func TestErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{&Error{Tool: "tgt", Op: "delete target 3", Kinds: []error{ErrNotFound}, Err: errors.New("tgtadm: can't find the target")},
			"tgt: delete target 3: tgtadm: can't find the target"},
		{&Error{Tool: "tgt", Op: "delete target 3", Kinds: []error{ErrNotFound}}, "tgt: delete target 3: not found"},
		{&Error{Tool: "iscsi", Err: errors.New("boom")}, "iscsi: boom"},
		{&Error{Op: "x"}, "x"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestUnrecognisedFailureMatchesNoSentinel(t *testing.T) {
	cause := errors.New("out of memory")
	err := &Error{Tool: "tgt", Op: "x", Err: cause}
	for _, s := range shared {
		if errors.Is(err, s) {
			t.Errorf("unclassified error matches %v", s)
		}
	}
	if !errors.Is(err, cause) {
		t.Error("cause lost")
	}
}
