package driver

import (
	"fmt"
	"strconv"
	"sync"
)

// lockKind says what a lock key names; keys of different kinds never
// collide, whatever their text.
type lockKind int

const (
	lockVolumeName   lockKind = iota + 1 // CreateVolume, by the CO's name
	lockSnapshotName                     // CreateSnapshot, by the CO's name
	lockVolume                           // calls on one volume (or snapshot) id
	lockPublication                      // NodePublish/Unpublish: one id at one target path
)

// lockKey is what one in-flight call holds. The zero key holds nothing.
type lockKey struct {
	kind lockKind
	id   string // a name or an id, by kind
	path string // lockPublication only
}

func volumeNameLock(name string) lockKey   { return lockKey{kind: lockVolumeName, id: name} }
func snapshotNameLock(name string) lockKey { return lockKey{kind: lockSnapshotName, id: name} }
func volumeLock(id string) lockKey         { return lockKey{kind: lockVolume, id: id} }
func publicationLock(id, path string) lockKey {
	return lockKey{kind: lockPublication, id: id, path: path}
}

func (k lockKey) String() string {
	switch k.kind {
	case lockVolumeName:
		return "volume name " + strconv.Quote(k.id)
	case lockSnapshotName:
		return "snapshot name " + strconv.Quote(k.id)
	case lockPublication:
		return fmt.Sprintf("volume %s at %s", k.id, k.path)
	default:
		return "volume " + k.id
	}
}

// inflight refuses a second concurrent call on the same key: the CO
// retries, and by then the first call has finished and the retry converges
// on its result instead of racing it.
type inflight struct {
	mu   sync.Mutex
	keys map[lockKey]struct{}
}

// tryLock returns a release function, or false when key is busy.
func (l *inflight) tryLock(key lockKey) (func(), bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.keys == nil {
		l.keys = map[lockKey]struct{}{}
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

// serve is the one wrapper every RPC of the controller and node servers
// goes through: it holds key (when it names something) for the duration of
// handler, answers Aborted when another call holds it, and turns the
// handler's error into a gRPC status (errors.go). A request whose key is
// empty (a missing name or id) takes no lock: its handler refuses it.
func serve[T any](l *inflight, key lockKey, handler func() (T, error)) (T, error) {
	var zero T
	if key.id != "" {
		release, ok := l.tryLock(key)
		if !ok {
			return zero, toStatus(aborted(key.String()))
		}
		defer release()
	}
	resp, err := handler()
	if err != nil {
		return zero, toStatus(err)
	}
	return resp, nil
}

// noLock is the key of calls that read only.
var noLock lockKey
