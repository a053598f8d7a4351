package driver

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/exclusive"
)

// Config.InnerInterceptors run around the handlers, after the controller gate:
// a call the gate refuses never reaches them (the kill points of
// cmd/lvm-iscsi-csi count only calls that reach a handler).
func TestConfigInterceptorsRunInsideTheGate(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	record := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		mu.Lock()
		seen = append(seen, info.FullMethod)
		mu.Unlock()
		return handler(ctx, req)
	}
	gate := func(context.Context) error { return exclusive.ErrHeldElsewhere }
	path := filepath.Join(t.TempDir(), "csi.sock")
	opts := DefaultOptions()
	opts.Mode = ModeAll
	opts.Endpoint = "unix://" + path
	d, err := New(Config{Options: opts, Controller: &csi.UnimplementedControllerServer{}, Node: &csi.UnimplementedNodeServer{},
		ControllerGate: gate, InnerInterceptors: []grpc.UnaryServerInterceptor{record}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	conn := dial(t, path)
	_, err = csi.NewControllerClient(conn).CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "x"})
	wantCode(t, err, codes.Unavailable)
	_, err = csi.NewNodeClient(conn).NodeGetInfo(ctx, &csi.NodeGetInfoRequest{})
	wantCode(t, err, codes.Unimplemented)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen, []string{"/csi.v1.Node/NodeGetInfo"}) {
		t.Errorf("the interceptor saw %q; want only the node call the gate let through", seen)
	}
}
