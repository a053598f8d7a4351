// Package exclusive keeps a job to one process: a set of flock(2) locks on
// files that every process doing that job opens, held for the life of the
// process. The controller uses it so that two controllers (a rolling
// update, a second install) never rebuild one tgtd or change one volume
// group over each other: see docs/security.md, "One controller".
//
// flock locks belong to the open file and die with it, so a crashed
// process releases them; the files are opened close-on-exec, so a command
// the holder started does not keep them after the holder is gone.
package exclusive

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/klog/v2"
)

// ErrHeldElsewhere: another process holds one of the locks (or this one
// has not taken them yet); the job must not be done here for now.
var ErrHeldElsewhere = errors.New("another controller holds the lock")

// Lock is the set of files; the zero value is not usable, use New.
type Lock struct {
	paths []string
	owner string // written into each file once all are held

	mu       sync.Mutex
	files    []*os.File // the locks held so far, in the order of paths
	waitedOn string     // the path last found held by another process
	holder   string     // what that process wrote into it
	held     chan struct{}
}

// New returns the lock on paths. They are always taken in this order, so
// two processes with overlapping sets cannot each hold one the other
// waits for. owner describes this process to the others (pid, host).
func New(owner string, paths ...string) *Lock {
	return &Lock{paths: paths, owner: owner, held: make(chan struct{})}
}

// Owner describes this process for other processes' logs: its pid and
// host name (with the chart's host network, the storage host's name), and
// what it guards.
func Owner(what string) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("pid %d on host %s (%s), since %s", os.Getpid(), host, what, time.Now().UTC().Format(time.RFC3339))
}

// Held is closed once every lock is held.
func (l *Lock) Held() <-chan struct{} { return l.held }

// Check is nil while every lock is held, else ErrHeldElsewhere naming
// the file and the process that holds it, as far as known. Its signature
// is a Probe prerequisite's.
func (l *Lock) Check(context.Context) error {
	select {
	case <-l.held:
		return nil
	default:
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.waitedOn == "" {
		return fmt.Errorf("%w: not taken yet (%s)", ErrHeldElsewhere, strings.Join(l.paths, ", "))
	}
	return fmt.Errorf("%w: %s is held by %s", ErrHeldElsewhere, l.waitedOn, l.holder)
}

// TryOnce takes whatever locks are free, in order, and reports whether all
// are held now.
func (l *Lock) TryOnce() (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.held:
		return true, nil
	default:
	}
	for len(l.files) < len(l.paths) {
		path := l.paths[len(l.files)]
		f, err := lockFile(path)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			if holder := readHolder(path); l.waitedOn != path || l.holder != holder {
				l.waitedOn, l.holder = path, holder
				klog.InfoS("Another controller holds this lock: until it exits, controller calls are refused, Probe reports not ready, and tgtd and the volume group are left alone",
					"lock", path, "holder", holder)
			}
			return false, nil
		}
		if err != nil {
			return false, err
		}
		// Who holds it, for the logs of processes that wait on it; the
		// lock does not depend on it.
		if err := f.Truncate(0); err == nil {
			_, _ = f.WriteAt([]byte(l.owner+"\n"), 0)
		}
		l.files = append(l.files, f)
	}
	klog.InfoS("Holding the controller locks: serving", "locks", l.paths)
	close(l.held)
	return true, nil
}

// Run tries the locks every poll until all are held or ctx ends.
func (l *Lock) Run(ctx context.Context, poll time.Duration) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		ok, err := l.TryOnce()
		if err != nil {
			klog.ErrorS(err, "Cannot take the controller lock; retrying")
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Release drops every lock held (process exit does the same).
func (l *Lock) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.files {
		f.Close()
	}
	l.files = nil
}

// lockFile opens path (creating it and its directory) and takes an
// exclusive flock without waiting; EWOULDBLOCK when another holds it. A
// file removed or replaced between open and flock is opened again, so
// two processes never hold locks on two different files of one name.
func lockFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating the directory of %s: %w", path, err)
	}
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", path, err)
		}
		if err := flock(f); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, err
			}
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if sameFile(f, path) {
			return f, nil
		}
		f.Close()
	}
}

func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			return err
		}
	}
}

func sameFile(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// readHolder is what the holder of path wrote into it.
func readHolder(path string) string {
	b, err := os.ReadFile(path)
	if s := strings.TrimSpace(string(b)); err == nil && s != "" {
		return s
	}
	return "a process that has not said who it is"
}
