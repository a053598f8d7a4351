package boundexec

import (
	"context"
	"errors"
	"io"
	"io/fs"
	osexec "os/exec"
	"syscall"
	"time"

	utilexec "k8s.io/utils/exec"
)

// pipeDelay bounds the wait for a killed command's output pipes, which a
// descendant that left the process group could keep open.
const pipeDelay = time.Second

// ProcessGroups is the exec.Interface of real processes for Exec: like
// k8s.io/utils/exec's, except that every command leads its own process
// group and the whole group is killed (SIGKILL) when the command's context
// ends, so no helper it started runs on after it.
type ProcessGroups struct{}

var _ utilexec.Interface = ProcessGroups{}

func (p ProcessGroups) Command(cmd string, args ...string) utilexec.Cmd {
	return p.CommandContext(context.Background(), cmd, args...)
}

func (ProcessGroups) CommandContext(ctx context.Context, cmd string, args ...string) utilexec.Cmd {
	c := osexec.CommandContext(ctx, cmd, args...)
	if errors.Is(c.Err, osexec.ErrDot) {
		c.Err = nil // as k8s.io/utils/exec: a tool found relative to the working directory still runs
	}
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error {
		// The group's id is the leader's pid.
		if err := syscall.Kill(-c.Process.Pid, syscall.SIGKILL); err != nil {
			return c.Process.Kill() // no such group (any more): the leader alone
		}
		return nil
	}
	c.WaitDelay = pipeDelay
	return (*processCmd)(c)
}

func (ProcessGroups) LookPath(file string) (string, error) {
	path, err := osexec.LookPath(file)
	if errors.Is(err, osexec.ErrDot) {
		err = nil
	}
	return path, execError(err)
}

// processCmd is an *exec.Cmd as an exec.Cmd, with k8s.io/utils/exec's
// errors (mount-utils reads exit codes through exec.ExitError).
type processCmd osexec.Cmd

func (c *processCmd) cmd() *osexec.Cmd { return (*osexec.Cmd)(c) }

func (c *processCmd) Run() error { return execError(c.cmd().Run()) }
func (c *processCmd) CombinedOutput() ([]byte, error) {
	out, err := c.cmd().CombinedOutput()
	return out, execError(err)
}
func (c *processCmd) Output() ([]byte, error) {
	out, err := c.cmd().Output()
	return out, execError(err)
}
func (c *processCmd) SetDir(dir string)       { c.Dir = dir }
func (c *processCmd) SetStdin(in io.Reader)   { c.Stdin = in }
func (c *processCmd) SetStdout(out io.Writer) { c.Stdout = out }
func (c *processCmd) SetStderr(out io.Writer) { c.Stderr = out }
func (c *processCmd) SetEnv(env []string)     { c.Env = env }
func (c *processCmd) StdoutPipe() (io.ReadCloser, error) {
	r, err := c.cmd().StdoutPipe()
	return r, execError(err)
}
func (c *processCmd) StderrPipe() (io.ReadCloser, error) {
	r, err := c.cmd().StderrPipe()
	return r, execError(err)
}
func (c *processCmd) Start() error { return execError(c.cmd().Start()) }
func (c *processCmd) Wait() error  { return execError(c.cmd().Wait()) }

// Stop kills the process group at once: a command is stopped because it
// is stuck, so there is no point in SIGTERM first.
func (c *processCmd) Stop() {
	if c.Process != nil {
		syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
	}
}

// execError maps os/exec's errors to k8s.io/utils/exec's, as its own
// implementation does.
func execError(err error) error {
	switch e := err.(type) {
	case nil:
		return nil
	case *osexec.ExitError:
		return &utilexec.ExitErrorWrapper{ExitError: e}
	case *fs.PathError:
		return utilexec.ErrExecutableNotFound
	case *osexec.Error:
		if errors.Is(e.Err, osexec.ErrNotFound) {
			return utilexec.ErrExecutableNotFound
		}
	}
	return err
}
