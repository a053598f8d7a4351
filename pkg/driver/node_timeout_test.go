package driver

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/mount-utils"
	utilexec "k8s.io/utils/exec"
	testingexec "k8s.io/utils/exec/testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/boundexec"
)

// hangingExec is the node's exec as a disk that stops answering leaves it:
// blkid finds no filesystem, and mkfs never returns until it is killed,
// which is what ending its context does to a process.
type hangingExec struct {
	killed atomic.Bool
}

func (h *hangingExec) Command(cmd string, args ...string) utilexec.Cmd {
	return h.CommandContext(context.Background(), cmd, args...)
}

func (h *hangingExec) CommandContext(ctx context.Context, cmd string, args ...string) utilexec.Cmd {
	run := func() ([]byte, error) {
		if cmd == "blkid" {
			return nil, testingexec.FakeExitError{Status: 2} // no signature
		}
		<-ctx.Done()
		h.killed.Store(true)
		return nil, errors.New("signal: killed")
	}
	return &hangingCmd{run: run}
}

func (h *hangingExec) LookPath(file string) (string, error) { return file, nil }

type hangingCmd struct{ run func() ([]byte, error) }

func (c *hangingCmd) Run() error                         { _, err := c.run(); return err }
func (c *hangingCmd) CombinedOutput() ([]byte, error)    { return c.run() }
func (c *hangingCmd) Output() ([]byte, error)            { return c.run() }
func (c *hangingCmd) SetDir(string)                      {}
func (c *hangingCmd) SetStdin(io.Reader)                 {}
func (c *hangingCmd) SetStdout(io.Writer)                {}
func (c *hangingCmd) SetStderr(io.Writer)                {}
func (c *hangingCmd) SetEnv([]string)                    {}
func (c *hangingCmd) StdoutPipe() (io.ReadCloser, error) { return nil, errors.New("no pipes") }
func (c *hangingCmd) StderrPipe() (io.ReadCloser, error) { return nil, errors.New("no pipes") }
func (c *hangingCmd) Start() error                       { return nil }
func (c *hangingCmd) Wait() error                        { _, err := c.run(); return err }
func (c *hangingCmd) Stop()                              {}

// A mkfs that hangs (its disk stopped answering) comes back as an error
// within the node's operation timeout, killed, and the stage is undone
// like any other final failure. The node's tools are bounded the way
// cmd/lvm-iscsi-csi wires them: boundexec around the exec mount-utils
// gets.
func TestNodeStageVolumeHungMkfsIsKilledAtTheTimeout(t *testing.T) {
	const bound = 300 * time.Millisecond
	n := newNodeTest(t, nil)
	dev := n.disks.add(t, nodeVolA, nodeVolA)
	hang := &hangingExec{}
	n.srv.svc.cfg.Mounter = &mount.SafeFormatAndMount{Interface: n.mounter, Exec: boundexec.New(hang, bound)}

	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := n.srv.NodeStageVolume(t.Context(), n.stageReq(nodeVolA, nodeFsCap("ext4")))
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("NodeStageVolume is still running 10s after mkfs hung")
	}
	took := time.Since(start)
	if took < bound || took > bound+3*time.Second {
		t.Errorf("answered after %v, want just after the %v bound", took, bound)
	}
	nodeWantCode(t, err, codes.Internal)
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "mkfs.ext4 did not finish within 300ms and was killed") {
		t.Errorf("message %q does not say mkfs was killed at the timeout", msg)
	}
	if !hang.killed.Load() {
		t.Errorf("mkfs was not killed")
	}
	n.wantNothingOf(nodeVolA, dev, true)
}
