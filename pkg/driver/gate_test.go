package driver

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/exclusive"
)

// While the controller gate is closed (another controller holds the
// storage host), every controller call that reads or changes the storage
// is Unavailable with the gate's reason and never reaches the pool; the
// node service of the same process and the capabilities still answer.
// Once the gate opens, calls go through.
func TestControllerGateRefusesCallsWhileClosed(t *testing.T) {
	ctrl, l, tg := newController(t)
	var open atomic.Bool
	gate := func(context.Context) error {
		if open.Load() {
			return nil
		}
		return fmt.Errorf("%w: /run/lock/lvm/x.lock is held by pid 42 on host other", exclusive.ErrHeldElsewhere)
	}
	path := filepath.Join(t.TempDir(), "csi.sock")
	opts := DefaultOptions()
	opts.Mode = ModeAll
	opts.Endpoint = "unix://" + path
	d, err := New(Config{Options: opts, Controller: ctrl, Node: &csi.UnimplementedNodeServer{}, ControllerGate: gate})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	conn := dial(t, path)
	c := csi.NewControllerClient(conn)

	_, err = c.CreateVolume(ctx, createReq("pvc-1", 8*mib, nil))
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "pid 42 on host other") {
		t.Fatalf("CreateVolume with the gate closed = %v, want Unavailable naming the holder", err)
	}
	_, err = c.ListVolumes(ctx, &csi.ListVolumesRequest{})
	wantCode(t, err, codes.Unavailable)
	if n := l.Calls("CreateLV"); n != 0 || len(tg.Calls()) != 0 {
		t.Fatalf("the closed gate let calls through: %d lvcreate, tgt calls %v", n, tg.Calls())
	}
	if _, err := c.ControllerGetCapabilities(ctx, &csi.ControllerGetCapabilitiesRequest{}); err != nil {
		t.Fatalf("ControllerGetCapabilities with the gate closed: %v", err)
	}
	_, err = csi.NewNodeClient(conn).NodeGetCapabilities(ctx, &csi.NodeGetCapabilitiesRequest{})
	wantCode(t, err, codes.Unimplemented) // reached the node server, not the gate

	open.Store(true)
	if _, err := c.CreateVolume(ctx, createReq("pvc-1", 8*mib, nil)); err != nil {
		t.Fatalf("CreateVolume with the gate open: %v", err)
	}
}
