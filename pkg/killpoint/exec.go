package killpoint

import (
	"context"

	utilexec "k8s.io/utils/exec"
)

// Exec wraps e so that every command it runs passes the kill points. It
// changes nothing else: same commands, same I/O, same errors.
func (in *Injector) Exec(e utilexec.Interface) utilexec.Interface {
	return &execWrapper{Interface: e, in: in}
}

type execWrapper struct {
	utilexec.Interface
	in *Injector
}

func (w *execWrapper) Command(name string, args ...string) utilexec.Cmd {
	return &cmdWrapper{Cmd: w.Interface.Command(name, args...), in: w.in, line: commandLine(name, args)}
}

func (w *execWrapper) CommandContext(ctx context.Context, name string, args ...string) utilexec.Cmd {
	return &cmdWrapper{Cmd: w.Interface.CommandContext(ctx, name, args...), in: w.in, ctx: ctx, line: commandLine(name, args)}
}

// cmdWrapper is one command; ctx is nil for one made without a context.
type cmdWrapper struct {
	utilexec.Cmd
	in   *Injector
	ctx  context.Context
	line string

	// killAfter: the command started by Start is its call's kill point
	// "after", which Wait reaches.
	killAfter *call
	seq       int
}

func (c *cmdWrapper) Run() error {
	return c.in.around(c.in.callOf(c.ctx), c.line, c.Cmd.Run)
}

func (c *cmdWrapper) CombinedOutput() ([]byte, error) {
	var out []byte
	err := c.in.around(c.in.callOf(c.ctx), c.line, func() error {
		var err error
		out, err = c.Cmd.CombinedOutput()
		return err
	})
	return out, err
}

func (c *cmdWrapper) Output() ([]byte, error) {
	var out []byte
	err := c.in.around(c.in.callOf(c.ctx), c.line, func() error {
		var err error
		out, err = c.Cmd.Output()
		return err
	})
	return out, err
}

// Start and Wait split one command: the "before" point is at Start, the
// "after" point when Wait returns.
func (c *cmdWrapper) Start() error {
	cl := c.in.callOf(c.ctx)
	if cl == nil {
		return c.Cmd.Start()
	}
	seq, killAfter, err := c.in.begin(cl, c.line)
	if err != nil {
		return err
	}
	if killAfter {
		c.killAfter, c.seq = cl, seq
	}
	return c.Cmd.Start()
}

func (c *cmdWrapper) Wait() error {
	err := c.Cmd.Wait()
	if c.killAfter != nil {
		c.in.die(c.killAfter, c.seq, c.line)
		return errKilled
	}
	return err
}
