package lvm

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	utilexec "k8s.io/utils/exec"
	testingexec "k8s.io/utils/exec/testing"
)

// blockingExec is an exec.Interface whose commands announce themselves on
// started and then run only when a token arrives on release.
type blockingExec struct {
	testingexec.FakeExec
	started chan struct{}
	release chan struct{}
	running atomic.Int32
	peak    atomic.Int32
}

func newBlockingExec(commands int, stdout string) *blockingExec {
	b := &blockingExec{started: make(chan struct{}, commands), release: make(chan struct{})}
	for range commands {
		b.CommandScript = append(b.CommandScript, func(name string, args ...string) utilexec.Cmd {
			cmd := &testingexec.FakeCmd{RunScript: []testingexec.FakeAction{func() ([]byte, []byte, error) {
				now := b.running.Add(1)
				for peak := b.peak.Load(); now > peak && !b.peak.CompareAndSwap(peak, now); peak = b.peak.Load() {
				}
				b.started <- struct{}{}
				<-b.release
				b.running.Add(-1)
				return []byte(stdout), nil, nil
			}}}
			return testingexec.InitFakeCmd(cmd, name, args...)
		})
	}
	return b
}

func (b *blockingExec) commandsStarted() int {
	// CommandCalls is only written under FakeExec's lock while a command
	// is being created; every creation has been waited for via started.
	return b.CommandCalls
}

func TestCommandsAreBoundedByMaxConcurrent(t *testing.T) {
	const limit, callers = 2, 5
	fake := newBlockingExec(callers, readRecording(t, "vgs-fresh", "stdout"))
	l := New(runner.New(fake, 0), limit)

	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := l.GetVG(context.Background(), "csivg")
			errs <- err
		}()
	}
	for range limit {
		<-fake.started
	}

	// Every slot is taken: a caller whose context ends while it waits gets
	// the context's error, and its command never starts.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.GetVG(ctx, "csivg"); !errors.Is(err, context.Canceled) {
		t.Errorf("GetVG with all slots busy and a cancelled context = %v", err)
	}
	if n := fake.commandsStarted(); n != limit {
		t.Errorf("%d commands started with %d slots", n, limit)
	}

	// Each finished command lets exactly one waiting caller in.
	for i := limit; i < callers; i++ {
		fake.release <- struct{}{}
		<-fake.started
	}
	for range limit {
		fake.release <- struct{}{}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("GetVG = %v", err)
		}
	}
	if peak := fake.peak.Load(); peak != limit {
		t.Errorf("peak concurrent commands = %d, want %d", peak, limit)
	}
}

// A reserved LVM runs its command while every shared slot is taken.
func TestReservedSlotsRunWhileSharedOnesAreTaken(t *testing.T) {
	const limit = 2
	fake := newBlockingExec(limit+1, readRecording(t, "vgs-fresh", "stdout"))
	l := New(runner.New(fake, 0), limit)
	health := l.Reserved(1)

	var wg sync.WaitGroup
	for range limit {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = l.GetVG(context.Background(), "csivg")
		}()
	}
	for range limit {
		<-fake.started
	}
	// The shared slots are all taken: l itself runs nothing more.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.GetVG(ctx, "csivg"); !errors.Is(err, context.Canceled) {
		t.Fatalf("GetVG on the shared slots = %v, want it to wait for a slot", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := health.GetVG(context.Background(), "csivg")
		done <- err
	}()
	<-fake.started // the reserved command runs while the shared ones do
	for range limit + 1 {
		fake.release <- struct{}{}
	}
	if err := <-done; err != nil {
		t.Fatalf("GetVG on the reserved slot = %v", err)
	}
	wg.Wait()
	if peak := fake.peak.Load(); peak != limit+1 {
		t.Errorf("peak concurrent commands = %d, want %d (the shared slots and the reserved one)", peak, limit+1)
	}
}
