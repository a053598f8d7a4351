package boundexec

import (
	"context"
	"errors"
	"fmt"
	"time"

	utilexec "k8s.io/utils/exec"
)

// DefaultGrace is how long a command whose deadline passed gets to exit
// after it was killed before its caller is answered without it.
const DefaultGrace = 5 * time.Second

// Exec is an exec.Interface whose every command has a deadline. The zero
// value is not usable; use New.
type Exec struct {
	inner   utilexec.Interface
	timeout time.Duration
	grace   time.Duration
}

var _ utilexec.Interface = (*Exec)(nil)

// New bounds every command of inner by timeout (ProcessGroups{} for real
// processes). inner's CommandContext must stop the command when the
// context ends; the call returns DefaultGrace later at the latest.
func New(inner utilexec.Interface, timeout time.Duration) *Exec {
	return &Exec{inner: inner, timeout: timeout, grace: DefaultGrace}
}

// WithGrace returns a copy of e that waits grace for a killed command.
func (e *Exec) WithGrace(grace time.Duration) *Exec {
	c := *e
	c.grace = grace
	return &c
}

// Timeout is the bound of every command.
func (e *Exec) Timeout() time.Duration { return e.timeout }

// Command is CommandContext without a context of the caller's: only the
// timeout bounds it. This is how mount-utils calls it.
func (e *Exec) Command(cmd string, args ...string) utilexec.Cmd {
	return e.CommandContext(context.Background(), cmd, args...)
}

// CommandContext bounds the command by ctx and the timeout, whichever ends
// first.
func (e *Exec) CommandContext(ctx context.Context, cmd string, args ...string) utilexec.Cmd {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	return &boundCmd{
		Cmd:    e.inner.CommandContext(ctx, cmd, args...),
		ctx:    ctx,
		cancel: cancel,
		name:   cmd,
		bound:  e.timeout,
		grace:  e.grace,
	}
}

// LookPath is inner's.
func (e *Exec) LookPath(file string) (string, error) { return e.inner.LookPath(file) }

// KilledError is a command stopped because its deadline passed (or its
// caller's context ended). It wraps the context's error, so
// errors.Is(err, context.DeadlineExceeded) holds for a timeout. It is
// deliberately not an exec.ExitError: mount-utils reads exit codes (blkid's
// 2 means "no filesystem, format it"), and a killed command has none.
type KilledError struct {
	Command string
	Bound   time.Duration
	// Exited is false when the process had not exited within the grace
	// period after the kill: it is blocked in the kernel.
	Exited bool
	Err    error // the context's error
}

func (e *KilledError) Error() string {
	what := fmt.Sprintf("%s did not finish within %v", e.Command, e.Bound)
	if !errors.Is(e.Err, context.DeadlineExceeded) {
		what = fmt.Sprintf("%s was stopped (%v)", e.Command, e.Err)
	}
	if e.Exited {
		return what + " and was killed"
	}
	return what + "; it was killed but has not exited yet (blocked in the kernel, as on a disk that does not answer)"
}

func (e *KilledError) Unwrap() error { return e.Err }

// boundCmd is one bounded command. Its Set* methods are inner's.
type boundCmd struct {
	utilexec.Cmd
	ctx    context.Context
	cancel context.CancelFunc
	name   string
	bound  time.Duration
	grace  time.Duration
}

// result is what one run of the inner command gave.
type result struct {
	out []byte
	err error
}

func (c *boundCmd) Run() error {
	r := c.bounded(func() result { return result{err: c.Cmd.Run()} })
	return r.err
}

func (c *boundCmd) CombinedOutput() ([]byte, error) {
	r := c.bounded(func() result { out, err := c.Cmd.CombinedOutput(); return result{out, err} })
	return r.out, r.err
}

func (c *boundCmd) Output() ([]byte, error) {
	r := c.bounded(func() result { out, err := c.Cmd.Output(); return result{out, err} })
	return r.out, r.err
}

// Wait bounds a Start-ed command the same way.
func (c *boundCmd) Wait() error {
	r := c.bounded(func() result { return result{err: c.Cmd.Wait()} })
	return r.err
}

// bounded runs fn (the inner command to its end) and answers when it
// returns, or when the context ended and fn did not return within the
// grace period that follows. The inner command was built with the same
// context, so it is being killed by then.
func (c *boundCmd) bounded(fn func() result) result {
	defer c.cancel()
	done := make(chan result, 1) // buffered: a late fn never blocks
	go func() { done <- fn() }()
	var r result
	select {
	case r = <-done:
		if r.err == nil || c.ctx.Err() == nil {
			return r // finished, possibly just as the deadline passed
		}
		// It ended because it was killed: say so rather than "signal:
		// killed", and keep whatever it printed.
		return result{out: r.out, err: c.killed(true)}
	case <-c.ctx.Done():
	}
	timer := time.NewTimer(c.grace)
	defer timer.Stop()
	select {
	case r = <-done:
		return result{out: r.out, err: c.killed(true)}
	case <-timer.C:
		return result{err: c.killed(false)}
	}
}

func (c *boundCmd) killed(exited bool) error {
	return &KilledError{Command: c.name, Bound: c.bound, Exited: exited, Err: c.ctx.Err()}
}
