package driver

import "sync"

// inflight refuses a second concurrent operation on the same key (a volume
// name, id, or id+path): the CO retries, and by then the first call has
// finished and the retry converges on its result instead of racing it.
type inflight struct {
	mu   sync.Mutex
	keys map[string]struct{}
}

// tryLock returns a release function, or false when key is busy.
func (l *inflight) tryLock(key string) (func(), bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.keys == nil {
		l.keys = map[string]struct{}{}
	}
	if _, busy := l.keys[key]; busy {
		return nil, false
	}
	l.keys[key] = struct{}{}
	return func() {
		l.mu.Lock()
		delete(l.keys, key)
		l.mu.Unlock()
	}, true
}
