package pool

import (
	"fmt"
	"sync"
)

// sources keeps a volume or snapshot that is being read as the source of a
// new snapshot or volume from being deleted under the reader, and the other
// way round. The CO's locks do not cover this: DeleteVolume is locked by
// the volume's id, CreateSnapshot by the snapshot's name and CreateVolume
// by the new volume's name, so nothing stops a delete from wiping a volume
// a snapshot is being taken of, or a snapshot a restore is copying.
//
// Only the start of a delete needs excluding: once the LV carries the
// "deleting" tag (or a snapshot depends on it), the tags keep new readers
// away and lvm keeps the origin of a copy-on-write snapshot. So a delete
// holds its mark until it returns, and a reader from before it reads the
// LV's tags until it is done.
type sources struct {
	mu       sync.Mutex
	readers  map[string]int
	deleting map[string]bool
}

func newSources() *sources {
	return &sources{readers: map[string]int{}, deleting: map[string]bool{}}
}

// read marks id as read until release is called. It fails with
// ErrInProgress while a delete of id is starting.
func (s *sources) read(id string) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deleting[id] {
		return nil, fmt.Errorf("%w: %s is being deleted", ErrInProgress, id)
	}
	s.readers[id]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.readers[id]--; s.readers[id] == 0 {
				delete(s.readers, id)
			}
		})
	}, nil
}

// delete marks id's delete as starting until done is called. It fails with
// ErrInProgress while id is read as a source or another delete of it is
// starting.
func (s *sources) delete(id string) (done func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readers[id] > 0 {
		return nil, fmt.Errorf("%w: %s is the source of a snapshot or volume being made; retry when it is done", ErrInProgress, id)
	}
	if s.deleting[id] {
		return nil, fmt.Errorf("%w: %s is being deleted by another call", ErrInProgress, id)
	}
	s.deleting[id] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			delete(s.deleting, id)
		})
	}, nil
}
