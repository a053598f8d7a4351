package events

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/tools/record"
)

// Watch observes at start and every interval, skips a failed reading
// without telling anything, and returns when ctx is done.
func TestWatchObservesEachIntervalAndSkipsFailedReadings(t *testing.T) {
	rec := record.NewFakeRecorder(100)
	r := NewReporter(rec, fakeObjects{}, 80, 95)
	var calls atomic.Int32
	src := func(context.Context) (Snapshot, error) {
		switch calls.Add(1) {
		case 1:
			return pool(90, 1), nil
		case 2:
			return Snapshot{}, errors.New("lvs failed")
		default:
			return pool(90, 1), nil
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Watch(ctx, src, r, 10*time.Millisecond); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for calls.Load() < 5 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return once its context was done")
	}
	if calls.Load() < 5 {
		t.Fatalf("%d readings in 5s at a 10ms interval", calls.Load())
	}
	expect(t, rec, "a pool past the warning, one failed reading in between", "Warning ThinPoolDataNearlyFull")
}
