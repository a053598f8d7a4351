package driver

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
)

func TestLockKindsNeverCollide(t *testing.T) {
	var l inflight
	keys := []lockKey{volumeNameLock("x"), snapshotNameLock("x"), volumeLock("x"), publicationLock("x", ""), publicationLock("x", "/p")}
	for _, k := range keys {
		if _, ok := l.tryLock(k); !ok {
			t.Fatalf("%v is busy although no call holds it", k)
		}
	}
	for _, k := range keys {
		if _, ok := l.tryLock(k); ok {
			t.Fatalf("%v was granted twice", k)
		}
	}
}

func TestServeHoldsTheKeyAndMapsErrors(t *testing.T) {
	var l inflight
	key := volumeLock("csi-1")
	_, err := serve(&l, key, func() (string, error) {
		// While the handler runs, a second call on the key is Aborted
		// without running its handler.
		_, err := serve(&l, key, func() (string, error) {
			t.Fatal("a second handler ran under a held key")
			return "", nil
		})
		wantCode(t, err, codes.Aborted)
		return "", fail(errNotStaged, "not here")
	})
	wantCode(t, err, codes.FailedPrecondition)
	if _, ok := l.tryLock(key); !ok {
		t.Fatal("the key was not released when the handler returned")
	}
	// An empty key (a request missing its id) takes no lock, so its
	// handler can answer InvalidArgument even while another such call runs.
	if _, err := serve(&l, volumeLock(""), func() (string, error) { return "ok", nil }); err != nil {
		t.Fatal(err)
	}
	if _, ok := l.tryLock(volumeLock("")); !ok {
		t.Fatal("an empty key was left locked")
	}
	resp, err := serve(&l, noLock, func() (string, error) { return "ok", errors.New("boom") })
	if resp != "" {
		t.Fatalf("a failed call returned a response %q", resp)
	}
	wantCode(t, err, codes.Internal)
}
