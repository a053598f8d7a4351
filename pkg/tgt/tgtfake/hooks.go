package tgtfake

import (
	"fmt"
	"reflect"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// BeforeNext runs fn once, right before the next call of method (a
// tgt.Interface method name) does anything, outside the fake's lock so fn
// may call the fake (Login, AddSession, ...). It lets a test put an event
// of the outside world, such as an initiator's login completing, at an
// exact point between the calls of the code under test. Hooks queue up per
// method like FailNext; fn may arm the next one itself. An unknown method
// name panics, as it is a bug in the test.
func (f *Fake) BeforeNext(method string, fn func()) {
	if _, ok := reflect.TypeFor[tgt.Interface]().MethodByName(method); !ok {
		panic(fmt.Sprintf("tgtfake: BeforeNext: tgt.Interface has no method %q", method))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hooks == nil {
		f.hooks = map[string][]func(){}
	}
	f.hooks[method] = append(f.hooks[method], fn)
}

// runHook runs the first hook queued for method, if any, unlocked.
func (f *Fake) runHook(method string) {
	f.mu.Lock()
	queued := f.hooks[method]
	var fn func()
	if len(queued) > 0 {
		fn, f.hooks[method] = queued[0], queued[1:]
	}
	f.mu.Unlock()
	if fn != nil {
		fn()
	}
}
