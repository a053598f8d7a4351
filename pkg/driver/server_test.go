package driver

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func TestListenRemovesStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "csi.sock")
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	// Simulate a crashed process: the socket file stays behind.
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stale socket not left behind: %v", err)
	}
	l, err := listen(path)
	if err != nil {
		t.Fatalf("listen over a stale socket: %v", err)
	}
	l.Close()
}

func TestListenRefusesToRemoveARegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "csi.sock")
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := listen(path); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("listen = %v, want a not-a-socket error", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "precious" {
		t.Fatalf("the regular file was touched: %q, %v", b, err)
	}
}

func TestListenCreatesTheDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "csi.sock")
	l, err := listen(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

// blockingController answers ControllerGetCapabilities only after release
// is closed, to prove shutdown waits for in-flight calls.
type blockingController struct {
	csi.UnimplementedControllerServer
	entered chan struct{}
	release chan struct{}
}

func (b *blockingController) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	close(b.entered)
	<-b.release
	return &csi.ControllerGetCapabilitiesResponse{}, nil
}

func TestShutdownLetsInFlightCallsFinishAndRemovesSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "csi.sock")
	ctrl := &blockingController{entered: make(chan struct{}), release: make(chan struct{})}
	opts := DefaultOptions()
	opts.Mode = ModeController
	opts.Endpoint = "unix://" + path
	d, err := New(Config{Options: opts, Controller: ctrl, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	conn := dial(t, path)
	callErr := make(chan error, 1)
	go func() {
		_, err := csi.NewControllerClient(conn).ControllerGetCapabilities(context.Background(), &csi.ControllerGetCapabilitiesRequest{})
		callErr <- err
	}()
	<-ctrl.entered
	cancel() // what SIGTERM does in main
	select {
	case <-done:
		t.Fatal("Run returned while a call was still in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(ctrl.release)
	if err := <-callErr; err != nil {
		t.Fatalf("in-flight call failed: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("socket still present after shutdown: %v", err)
	}
}

func TestModeRegistersOnlyItsServices(t *testing.T) {
	path := filepath.Join(t.TempDir(), "csi.sock")
	opts := DefaultOptions()
	opts.Mode = ModeNode
	opts.Endpoint = "unix://" + path
	d, err := New(Config{Options: opts, Node: &csi.UnimplementedNodeServer{}})
	if err != nil {
		t.Fatal(err)
	}
	services := d.server.GetServiceInfo()
	if _, ok := services["csi.v1.Controller"]; ok {
		t.Error("node mode registered the controller service")
	}
	for _, s := range []string{"csi.v1.Identity", "csi.v1.Node"} {
		if _, ok := services[s]; !ok {
			t.Errorf("node mode did not register %s", s)
		}
	}
	if _, err := New(Config{Options: opts}); err == nil {
		t.Error("node mode without a node server was accepted")
	}
}

func dial(t *testing.T, path string) *grpc.ClientConn {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("socket %s never appeared", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
	conn, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
