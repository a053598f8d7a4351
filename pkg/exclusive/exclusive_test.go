package exclusive

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// holdEnv makes the test binary a holder process: it takes the locks
// named in the variable (comma-separated), prints "held", and keeps them
// until its standard input closes (a clean exit) or it is killed (a
// crash). flock exclusion between processes is what is tested, so the
// holders are real processes.
const holdEnv = "EXCLUSIVE_TEST_HOLD"

func TestMain(m *testing.M) {
	if paths, ok := os.LookupEnv(holdEnv); ok {
		l := New(Owner("test holder"), strings.Split(paths, ",")...)
		if err := l.Run(context.Background(), 20*time.Millisecond); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("held")
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type holder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	held  chan struct{}
}

func startHolder(t *testing.T, paths ...string) *holder {
	t.Helper()
	h := &holder{cmd: exec.Command(os.Args[0]), held: make(chan struct{})}
	h.cmd.Env = append(os.Environ(), holdEnv+"="+strings.Join(paths, ","))
	h.cmd.Stderr = io.Discard
	var err error
	if h.stdin, err = h.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := h.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			if s.Text() == "held" {
				close(h.held)
			}
		}
	}()
	t.Cleanup(func() {
		h.cmd.Process.Kill()
		h.cmd.Wait()
	})
	return h
}

func (h *holder) pid() string { return fmt.Sprintf("pid %d ", h.cmd.Process.Pid) }

func (h *holder) isHolding(wait time.Duration) bool {
	select {
	case <-h.held:
		return true
	case <-time.After(wait):
		return false
	}
}

// checkHeldBy: this process cannot take the locks, and says that h has.
func checkHeldBy(t *testing.T, h *holder, paths ...string) {
	t.Helper()
	l := New(Owner("test"), paths...)
	defer l.Release()
	if ok, err := l.TryOnce(); ok || err != nil {
		t.Fatalf("TryOnce = %v, %v while another process holds the lock", ok, err)
	}
	err := l.Check(context.Background())
	if !errors.Is(err, ErrHeldElsewhere) || !strings.Contains(err.Error(), h.pid()) {
		t.Fatalf("Check = %v, want ErrHeldElsewhere naming %s", err, h.pid())
	}
}

func TestOneHolderAtATimeAndTakeOverOnExitOrCrash(t *testing.T) {
	dir := t.TempDir()
	state1, state2 := filepath.Join(dir, "state1", "controller.lock"), filepath.Join(dir, "state2", "controller.lock")
	vgA, vgB := filepath.Join(dir, "lock", "vg-a.lock"), filepath.Join(dir, "lock", "vg-b.lock")

	first := startHolder(t, state1, vgA)
	if !first.isHolding(10 * time.Second) {
		t.Fatal("the first process did not get free locks")
	}
	// Another state directory, the same volume group: excluded.
	second := startHolder(t, state2, vgA)
	if second.isHolding(time.Second) {
		t.Fatal("two processes hold the lock of one volume group")
	}
	checkHeldBy(t, first, vgA)

	// A crash releases the locks; the waiting process takes them.
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !second.isHolding(10 * time.Second) {
		t.Fatal("the second process did not take over after the first was killed")
	}
	checkHeldBy(t, second, vgA)

	// The same state directory, another volume group: excluded too.
	third := startHolder(t, state2, vgB)
	if third.isHolding(time.Second) {
		t.Fatal("two processes hold the lock of one state directory")
	}
	checkHeldBy(t, second, state2)
	// A clean exit releases them as well.
	second.stdin.Close()
	if !third.isHolding(10 * time.Second) {
		t.Fatal("the third process did not take over after the second exited")
	}
}

func TestCheckAndHeld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b.lock")
	l := New(Owner("test"), path)
	defer l.Release()
	if err := l.Check(context.Background()); !errors.Is(err, ErrHeldElsewhere) {
		t.Fatalf("Check before trying = %v, want ErrHeldElsewhere", err)
	}
	if ok, err := l.TryOnce(); !ok || err != nil {
		t.Fatalf("TryOnce on a free lock = %v, %v", ok, err)
	}
	select {
	case <-l.Held():
	default:
		t.Fatal("Held is not closed once the lock is held")
	}
	if err := l.Check(context.Background()); err != nil {
		t.Fatalf("Check while held = %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), fmt.Sprintf("pid %d ", os.Getpid())) {
		t.Fatalf("the lock file says %q (%v); want this process's pid", b, err)
	}
	// A second lock on the same file in this process is excluded too:
	// flock locks belong to open files, not to processes.
	if ok, _ := New(Owner("test"), path).TryOnce(); ok {
		t.Fatal("a second open file took a held lock")
	}
}
