package kubeletplugin

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// kubelet is what kubelet's plugin watcher does: dial the socket it found,
// ask GetInfo, and report back.
func kubelet(t *testing.T, socket string) registerapi.RegistrationClient {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(socket); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no registration socket at %s", socket)
		}
		time.Sleep(10 * time.Millisecond)
	}
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return registerapi.NewRegistrationClient(conn)
}

func startRegistration(t *testing.T, reg Registration) (chan error, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	status := make(chan error, 4)
	done := make(chan error, 1)
	go func() { done <- reg.Serve(ctx, status) }()
	return status, func() error { cancel(); return <-done }
}

func TestRegistrationTellsKubeletWhereTheDriverIs(t *testing.T) {
	dir := t.TempDir()
	reg := Registration{DriverName: "lvm-iscsi.csi.io", Endpoint: "/var/lib/kubelet/plugins/lvm-iscsi.csi.io/csi.sock", RegistryDir: filepath.Join(dir, "plugins_registry")}
	status, stop := startRegistration(t, reg)
	c := kubelet(t, reg.SocketPath())
	info, err := c.GetInfo(context.Background(), &registerapi.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != registerapi.CSIPlugin || info.Name != reg.DriverName || info.Endpoint != reg.Endpoint || len(info.SupportedVersions) == 0 {
		t.Fatalf("GetInfo = %+v", info)
	}
	if _, err := c.NotifyRegistrationStatus(context.Background(), &registerapi.RegistrationStatus{PluginRegistered: false, Error: "no such driver version"}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-status:
		if err == nil || !strings.Contains(err.Error(), "no such driver version") {
			t.Fatalf("refused registration reported as %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a refused registration was not reported")
	}
	if _, err := c.NotifyRegistrationStatus(context.Background(), &registerapi.RegistrationStatus{PluginRegistered: true}); err != nil {
		t.Fatal(err)
	}
	if err := <-status; err != nil {
		t.Fatalf("successful registration reported as %v", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(reg.SocketPath()); !os.IsNotExist(err) {
		t.Fatalf("registration socket left behind after shutdown: %v", err)
	}
}

func TestRegistrationReplacesAStaleSocketOnly(t *testing.T) {
	dir := t.TempDir()
	reg := Registration{DriverName: "d.example.io", Endpoint: "/csi/csi.sock", RegistryDir: dir}
	// A socket nobody serves, as a crashed run leaves it.
	l, err := net.Listen("unix", reg.SocketPath())
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	_, stop := startRegistration(t, reg)
	// Until Serve has replaced it, the stale socket refuses connections:
	// wait for it to be served (the bound only stops a hang).
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := kubelet(t, reg.SocketPath()).GetInfo(ctx, &registerapi.InfoRequest{}, grpc.WaitForReady(true)); err != nil {
		t.Fatalf("the stale socket was not replaced: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// A regular file at the path is not ours: refuse, leave it.
	if err := os.WriteFile(reg.SocketPath(), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := reg.Serve(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Serve over a regular file = %v", err)
	}
	if b, err := os.ReadFile(reg.SocketPath()); err != nil || string(b) != "x" {
		t.Fatalf("the file was touched: %q, %v", b, err)
	}
}

func TestRegistrationRefusesIncompleteSettings(t *testing.T) {
	for _, reg := range []Registration{
		{Endpoint: "/csi.sock", RegistryDir: "/tmp"},
		{DriverName: "d", Endpoint: "csi.sock", RegistryDir: "/tmp"},
		{DriverName: "d", Endpoint: "/csi.sock", RegistryDir: "relative"},
	} {
		if err := reg.Serve(context.Background(), nil); err == nil {
			t.Errorf("Serve(%+v) accepted incomplete settings", reg)
		}
	}
}
