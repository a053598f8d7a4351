// Package runner runs the external tools the driver depends on (lvm, tgtadm,
// iscsiadm, ...) the one way this project allows: an argv list through
// k8s.io/utils/exec (never a shell), LC_ALL=C so output and messages can be
// parsed, a timeout on every call, and failures returned as *ExitError with
// the exit code and stderr kept for classification by the owning package.
package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/klog/v2"
	utilexec "k8s.io/utils/exec"
)

// DefaultTimeout bounds a command when the caller's context has no earlier
// deadline. It is generous because the project's own test guest runs under
// software emulation, where a thin lvcreate takes seconds.
const DefaultTimeout = 2 * time.Minute

// Masked replaces secret values wherever a command line is logged or
// reported.
const Masked = "<masked>"

// Runner runs commands. The zero value is not usable; use New.
type Runner struct {
	exec    utilexec.Interface
	timeout time.Duration
	env     []string
}

// New returns a Runner over exec (utilexec.New() in production, a
// k8s.io/utils/exec/testing fake in unit tests). A zero timeout means
// DefaultTimeout.
func New(exec utilexec.Interface, timeout time.Duration) *Runner {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Runner{exec: exec, timeout: timeout, env: commandEnv()}
}

// commandEnv is the process environment with the locale forced to C, so tools
// print untranslated messages and plain numbers.
func commandEnv() []string {
	env := []string{"LC_ALL=C", "LANG=C"}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") || strings.HasPrefix(kv, "LANGUAGE=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// ExitError is a command that did not succeed. Command is the command line
// with secrets masked; it is safe to log.
type ExitError struct {
	Command  string
	ExitCode int // -1 when the command did not run to an exit (not found, killed, timed out)
	Stderr   string
	Err      error
}

func (e *ExitError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("%s: exit code %d: %s", e.Command, e.ExitCode, msg)
}

func (e *ExitError) Unwrap() error { return e.Err }

// Run runs name with args and returns its stdout.
func (r *Runner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	return r.RunSecret(ctx, nil, name, args...)
}

// RunSecret is Run for command lines that carry secrets (CHAP passwords):
// every argument equal to one of secrets is masked in logs and errors, and
// stderr is scrubbed of them too.
func (r *Runner) RunSecret(ctx context.Context, secrets []string, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()

	line := commandLine(secrets, name, args)
	start := time.Now()
	cmd := r.exec.CommandContext(ctx, name, args...)
	cmd.SetEnv(r.env)
	var stdout, stderr bytes.Buffer
	cmd.SetStdout(&stdout)
	cmd.SetStderr(&stderr)
	err := cmd.Run()
	klog.V(4).InfoS("Ran command", "command", line, "duration", time.Since(start), "err", scrub(errString(err), secrets))
	if err == nil {
		return stdout.Bytes(), nil
	}
	exitErr := &ExitError{Command: line, ExitCode: -1, Stderr: scrub(stderr.String(), secrets), Err: err}
	var coded utilexec.ExitError
	if errors.As(err, &coded) && coded.Exited() {
		exitErr.ExitCode = coded.ExitStatus()
	}
	if ctx.Err() != nil {
		exitErr.Err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return stdout.Bytes(), exitErr
}

func commandLine(secrets []string, name string, args []string) string {
	parts := make([]string, 0, len(args)+1)
	parts = append(parts, name)
	for _, a := range args {
		parts = append(parts, scrub(a, secrets))
	}
	return strings.Join(parts, " ")
}

func scrub(s string, secrets []string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, Masked)
		}
	}
	return s
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// ExitCode returns the exit code of err when it is an *ExitError, and -1
// otherwise.
func ExitCode(err error) int {
	var e *ExitError
	if errors.As(err, &e) {
		return e.ExitCode
	}
	return -1
}

// Stderr returns the stderr kept in err when it is an *ExitError.
func Stderr(err error) string {
	var e *ExitError
	if errors.As(err, &e) {
		return e.Stderr
	}
	return ""
}
