package boundexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	utilexec "k8s.io/utils/exec"
)

// The test binary doubles as the commands run here, chosen by this
// variable: "hang" starts a child that sleeps, prints the child's pid and
// sleeps itself (a stuck mkfs, or fsck with its fsck.ext4); "exit=N" exits
// with N; "echo" prints its arguments.
const helperEnv = "BOUNDEXEC_TEST_HELPER"

func TestMain(m *testing.M) {
	switch mode := os.Getenv(helperEnv); {
	case mode == "":
		os.Exit(m.Run())
	case mode == "hang":
		child := osexec.Command(os.Args[0], "-test.run=^$")
		child.Env = append(os.Environ(), helperEnv+"=sleep")
		if err := child.Start(); err != nil {
			fmt.Println("cannot start the child:", err)
			os.Exit(3)
		}
		fmt.Println(child.Process.Pid)
		time.Sleep(time.Hour)
	case mode == "sleep":
		time.Sleep(time.Hour)
	case strings.HasPrefix(mode, "exit="):
		code, _ := strconv.Atoi(strings.TrimPrefix(mode, "exit="))
		fmt.Println("exiting with", code)
		os.Exit(code)
	case mode == "echo":
		fmt.Println(strings.Join(os.Args[2:], " ")) // after -test.run
		os.Exit(0)
	}
	os.Exit(4)
}

// helper is a bounded command running the test binary as helper mode.
func helper(t *testing.T, e *Exec, mode string, args ...string) utilexec.Cmd {
	t.Helper()
	cmd := e.Command(os.Args[0], append([]string{"-test.run=^$"}, args...)...)
	cmd.SetEnv(append(os.Environ(), helperEnv+"="+mode))
	return cmd
}

// gone reports whether pid has exited (a zombie has: only its parent's
// wait is missing, and an orphan's parent may be a PID 1 that never waits).
func gone(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// pid (comm) S ...: the state follows the last ")".
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z'
}

func TestExecKillsAHungCommandAndItsChildren(t *testing.T) {
	const bound = 500 * time.Millisecond
	e := New(ProcessGroups{}, bound)
	start := time.Now()
	out, err := helper(t, e, "hang").CombinedOutput()
	took := time.Since(start)

	var killed *KilledError
	if !errors.As(err, &killed) || !killed.Exited || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v (%T), want a KilledError of an exited process wrapping DeadlineExceeded", err, err)
	}
	if took < bound || took > bound+2*time.Second {
		t.Errorf("answered after %v, want just after %v", took, bound)
	}
	if !strings.Contains(err.Error(), "did not finish within 500ms and was killed") {
		t.Errorf("message %q does not say what happened", err)
	}
	var ee utilexec.ExitError
	if errors.As(err, &ee) {
		t.Errorf("a killed command must not look like an exit code to mount-utils, got %v", ee)
	}
	childPID, perr := strconv.Atoi(strings.TrimSpace(string(out)))
	if perr != nil {
		t.Fatalf("output %q is not the child's pid", out)
	}
	// The child is killed with its group; the signal is asynchronous, so
	// give it a moment.
	for deadline := time.Now().Add(2 * time.Second); !gone(childPID) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !gone(childPID) {
		syscall.Kill(childPID, syscall.SIGKILL)
		t.Fatalf("the hung command's child %d outlived it", childPID)
	}
}

func TestExecPassesOnExitCodesAndOutput(t *testing.T) {
	e := New(ProcessGroups{}, time.Minute)
	out, err := helper(t, e, "echo", "a", "b").CombinedOutput()
	if err != nil || string(out) != "a b\n" {
		t.Fatalf("echo: %q, %v", out, err)
	}
	// mount-utils reads exit codes by type assertion (blkid's 2 means
	// "unformatted"), so the error must be an exec.ExitError itself.
	_, err = helper(t, e, "exit=2").CombinedOutput()
	if ee, ok := err.(utilexec.ExitError); !ok || ee.ExitStatus() != 2 {
		t.Fatalf("error %v (%T), want exec.ExitError with status 2", err, err)
	}
	if err := helper(t, e, "exit=0").Run(); err != nil {
		t.Fatalf("Run of a command exiting 0: %v", err)
	}
	var stdout bytes.Buffer
	cmd := helper(t, e, "echo", "x")
	cmd.SetStdout(&stdout)
	if err := cmd.Run(); err != nil || stdout.String() != "x\n" {
		t.Fatalf("Run with stdout: %q, %v", stdout.String(), err)
	}
	if _, err := e.Command("/nonexistent/mkfs.ext4").CombinedOutput(); err != utilexec.ErrExecutableNotFound {
		t.Fatalf("missing tool: %v, want exec.ErrExecutableNotFound (mount-utils compares with ==)", err)
	}
}

func TestExecHonoursTheCallersContext(t *testing.T) {
	e := New(ProcessGroups{}, time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	cmd := e.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.SetEnv(append(os.Environ(), helperEnv+"=sleep"))
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	err := cmd.Run()
	if !errors.Is(err, context.Canceled) || time.Since(start) > 3*time.Second {
		t.Fatalf("after %v: %v, want the command stopped with context.Canceled", time.Since(start), err)
	}
}

// stuckExec's commands never return, whatever happens to their context:
// a process in D state that the kill cannot reach before its I/O ends.
type stuckExec struct {
	release chan struct{}
}

func (s stuckExec) Command(cmd string, args ...string) utilexec.Cmd {
	return s.CommandContext(context.Background(), cmd, args...)
}
func (s stuckExec) CommandContext(context.Context, string, ...string) utilexec.Cmd {
	return stuckCmd(s)
}
func (stuckExec) LookPath(file string) (string, error) { return file, nil }

type stuckCmd struct{ release chan struct{} }

func (c stuckCmd) Run() error                       { <-c.release; return nil }
func (c stuckCmd) CombinedOutput() ([]byte, error)  { <-c.release; return nil, nil }
func (c stuckCmd) Output() ([]byte, error)          { <-c.release; return nil, nil }
func (stuckCmd) SetDir(string)                      {}
func (stuckCmd) SetStdin(io.Reader)                 {}
func (stuckCmd) SetStdout(io.Writer)                {}
func (stuckCmd) SetStderr(io.Writer)                {}
func (stuckCmd) SetEnv([]string)                    {}
func (stuckCmd) StdoutPipe() (io.ReadCloser, error) { return nil, errors.New("no pipes") }
func (stuckCmd) StderrPipe() (io.ReadCloser, error) { return nil, errors.New("no pipes") }
func (stuckCmd) Start() error                       { return nil }
func (c stuckCmd) Wait() error                      { <-c.release; return nil }
func (stuckCmd) Stop()                              {}

func TestExecAnswersWhenAKilledProcessDoesNotExit(t *testing.T) {
	stuck := stuckExec{release: make(chan struct{})}
	defer close(stuck.release)
	e := New(stuck, 200*time.Millisecond).WithGrace(300 * time.Millisecond)
	start := time.Now()
	_, err := e.Command("mkfs.xfs", "/dev/sdz").CombinedOutput()
	took := time.Since(start)
	var killed *KilledError
	if !errors.As(err, &killed) || killed.Exited || killed.Command != "mkfs.xfs" {
		t.Fatalf("error %v, want a KilledError of mkfs.xfs that has not exited", err)
	}
	if took < 500*time.Millisecond || took > 2*time.Second {
		t.Errorf("answered after %v, want the bound plus the grace (500ms)", took)
	}
	if !strings.Contains(err.Error(), "blocked in the kernel") {
		t.Errorf("message %q does not say the process is still there", err)
	}
}
