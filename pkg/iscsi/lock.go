package iscsi

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockPollInterval is how often a waiter retries the file lock. flock(2)
// cannot be interrupted by a context, so waiting is a non-blocking try in a
// loop.
const lockPollInterval = 50 * time.Millisecond

// hostLock serialises iscsiadm on the host. iscsiadm rewrites node records
// under /etc/iscsi/nodes without locking against other iscsiadm processes,
// so two concurrent -o update/--login calls can corrupt or lose a record.
// The channel orders goroutines of this process; flock on a shared file
// orders this process against others using the same file (a restarted
// plugin whose old instance is still finishing, a second plugin process).
type hostLock struct {
	path string
	sem  chan struct{}
}

func newHostLock(path string) *hostLock {
	return &hostLock{path: path, sem: make(chan struct{}, 1)}
}

// acquire waits for the lock until ctx ends and returns the function that
// releases it.
func (l *hostLock) acquire(ctx context.Context) (func(), error) {
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the iscsiadm lock: %w", ctx.Err())
	}
	f, err := l.lockFile(ctx)
	if err != nil {
		<-l.sem
		return nil, err
	}
	return func() {
		// Closing the descriptor drops the flock.
		f.Close()
		<-l.sem
	}, nil
}

func (l *hostLock) lockFile(ctx context.Context) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the directory of the iscsiadm lock file: %w", err)
	}
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the iscsiadm lock file: %w", err)
	}
	ticker := time.NewTicker(lockPollInterval)
	defer ticker.Stop()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if err != syscall.EWOULDBLOCK && err != syscall.EINTR {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", l.path, err)
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the iscsiadm lock %s: %w", l.path, ctx.Err())
		}
	}
}
