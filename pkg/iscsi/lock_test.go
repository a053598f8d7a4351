package iscsi

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Two hostLocks on one file stand for two processes: flock(2) locks
// belong to open files, so they exclude each other even in one process.
func TestHostLockExcludesOtherHolders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "iscsiadm.lock")
	first, second := newHostLock(path), newHostLock(path)

	release, err := first.acquire(context.Background())
	if err != nil {
		t.Fatalf("first acquire: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("lock file %s: %v, mode %v; want it created with mode 0600", path, err, info.Mode())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*lockPollInterval)
	defer cancel()
	if _, err := second.acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second acquire while the first holds the lock: %v, want a deadline error", err)
	}

	acquired := make(chan error, 1)
	go func() {
		r, err := second.acquire(context.Background())
		if err == nil {
			r()
		}
		acquired <- err
	}()
	time.Sleep(2 * lockPollInterval)
	release()
	select {
	case err := <-acquired:
		if err != nil {
			t.Fatalf("second acquire after release: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second acquire did not get the lock after release")
	}
}

func TestHostLockExcludesGoroutines(t *testing.T) {
	l := newHostLock(filepath.Join(t.TempDir(), "iscsiadm.lock"))
	release, err := l.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 3*lockPollInterval)
	defer cancel()
	if _, err := l.acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire while held by this process: %v, want a deadline error", err)
	}
}
