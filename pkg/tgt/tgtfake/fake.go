// Package tgtfake is an in-memory tgt.Interface for other packages' unit
// tests. It keeps the rules of tgtd that callers depend on: ErrExists and
// ErrNotFound where tgtd gives them (as *toolerr.Error, the shape tgt.Tgt
// returns), a LUN needs a backing store, tgt's target-derived default
// serials, bindings listed back, deletion of an account unbinding it
// everywhere, and a Restart that forgets everything as a restarted tgtd
// does. Tests add sessions with Login, inject failures with FailNext and
// events between two calls with BeforeNext.
package tgtfake

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/toolerr"
)

// Fake is safe for concurrent use. The zero value is not usable; use New.
type Fake struct {
	mu       sync.Mutex
	targets  map[int]*tgt.Target
	accounts map[string]string         // user -> password
	sizes    map[string]uint64         // backing store -> size reported for its LUNs
	params   map[int]map[string]string // tid -> iSCSI key -> value (SetTargetParams)
	// lunParams are what AddLUN was given, by tid and LUN; read only
	// together with a LUN that is there.
	lunParams map[[2]int]tgt.LUNParams
	nextSID   int
	failures  map[string][]error
	calls     []string
	hooks     map[string][]func() // BeforeNext
}

var _ tgt.Interface = (*Fake)(nil)

// New returns a Fake with no target and no account, like a fresh tgtd.
func New() *Fake {
	f := &Fake{sizes: map[string]uint64{}, failures: map[string][]error{}}
	f.reset()
	return f
}

func (f *Fake) reset() {
	f.targets = map[int]*tgt.Target{}
	f.accounts = map[string]string{}
	f.params = map[int]map[string]string{}
	f.lunParams = map[[2]int]tgt.LUNParams{}
	f.nextSID = 1
}

// Restart forgets every target, LUN, binding, account and session, as tgtd
// does when it restarts. Injected failures, sizes and the call log stay.
func (f *Fake) Restart() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reset()
}

// SetSize sets the size, in bytes, of the backing store at path (0
// otherwise). Like tgtd, a LUN reports the size its backing store had when
// it was added or last refreshed (RefreshLUN).
func (f *Fake) SetSize(path string, size uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sizes[path] = size
}

// FailNext makes the next call of method (a tgt.Interface method name such
// as "AddLUN") return err without doing anything. Calls queue up: two
// FailNext for one method fail its next two calls. An unknown method name
// panics, as it is a bug in the test.
func (f *Fake) FailNext(method string, err error) {
	if _, ok := reflect.TypeFor[tgt.Interface]().MethodByName(method); !ok {
		panic(fmt.Sprintf("tgtfake: FailNext: tgt.Interface has no method %q", method))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[method] = append(f.failures[method], err)
}

// Calls returns the names of the Interface methods called so far, in order.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// begin locks the fake and records a call; it returns the error the call
// must fail with, if any. The caller must unlock.
func (f *Fake) begin(method string) error {
	f.runHook(method)
	f.mu.Lock()
	f.calls = append(f.calls, method)
	if queued := f.failures[method]; len(queued) > 0 {
		f.failures[method] = queued[1:]
		return queued[0]
	}
	return nil
}

// fail builds the error tgt.Tgt would return: a *toolerr.Error of that
// kind.
func fail(op string, kind error) error {
	return &toolerr.Error{Tool: "tgt", Op: op, Kinds: []error{kind}}
}

func (f *Fake) target(op string, tid int) (*tgt.Target, error) {
	t, ok := f.targets[tid]
	if !ok {
		return nil, fail(op, tgt.ErrNotFound)
	}
	return t, nil
}

// ListTargets returns copies of every target, in tid order.
func (f *Fake) ListTargets(ctx context.Context) ([]tgt.Target, error) {
	defer f.mu.Unlock()
	if err := f.begin("ListTargets"); err != nil {
		return nil, err
	}
	tids := make([]int, 0, len(f.targets))
	for tid := range f.targets {
		tids = append(tids, tid)
	}
	sort.Ints(tids)
	var out []tgt.Target
	for _, tid := range tids {
		out = append(out, f.copyTarget(f.targets[tid]))
	}
	return out, nil
}

func (f *Fake) copyTarget(t *tgt.Target) tgt.Target {
	c := *t
	c.LUNs = slices.Clone(t.LUNs)
	c.ACLs = slices.Clone(t.ACLs)
	c.InitiatorNames = slices.Clone(t.InitiatorNames)
	c.Accounts = slices.Clone(t.Accounts)
	c.Sessions = slices.Clone(t.Sessions)
	for i := range c.Sessions {
		c.Sessions[i].Connections = slices.Clone(t.Sessions[i].Connections)
	}
	return c
}

// CreateTarget fails with ErrExists when the tid or the name is taken.
func (f *Fake) CreateTarget(ctx context.Context, tid int, iqn string) error {
	defer f.mu.Unlock()
	if err := f.begin("CreateTarget"); err != nil {
		return err
	}
	op := fmt.Sprintf("create target %d", tid)
	if tid < 1 || iqn == "" {
		return fail(op, tgt.ErrInvalid)
	}
	for _, t := range f.targets {
		if t.TID == tid || t.IQN == iqn {
			return fail(op, tgt.ErrExists)
		}
	}
	f.targets[tid] = &tgt.Target{TID: tid, IQN: iqn, State: tgt.StateReady}
	return nil
}

// DeleteTarget deletes the target with its LUNs, bindings and sessions.
func (f *Fake) DeleteTarget(ctx context.Context, tid int) error {
	defer f.mu.Unlock()
	if err := f.begin("DeleteTarget"); err != nil {
		return err
	}
	if _, err := f.target(fmt.Sprintf("delete target %d", tid), tid); err != nil {
		return err
	}
	delete(f.targets, tid)
	delete(f.params, tid)
	return nil
}
