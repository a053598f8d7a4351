package driver

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// TestNodeServesKubeletRegistrationAndHealth runs a node plugin the way the
// chart starts it by default (no node-driver-registrar, no livenessprobe):
// kubelet finds the registration socket under the kubelet directory and
// learns the CSI endpoint and the configured driver name, and /healthz
// answers from the same prerequisites as Probe.
func TestNodeServesKubeletRegistrationAndHealth(t *testing.T) {
	// Short: a unix socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "lic")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	health := free.Addr().String()
	free.Close()

	opts := DefaultOptions()
	opts.Mode = ModeNode
	opts.Endpoint = "unix://" + filepath.Join(dir, "csi.sock")
	opts.KubeletDir = filepath.Join(dir, "kubelet")
	opts.DriverName = "host-b.lvm-iscsi.csi.io"
	opts.KubeletRegistrationPath = "/var/lib/kubelet/plugins/host-b.lvm-iscsi.csi.io/csi.sock"
	opts.HealthAddress = health
	var missing error
	d, err := New(Config{Options: opts, Node: &csi.UnimplementedNodeServer{}, Prerequisites: []Prerequisite{
		{Name: "iscsid", Check: func(context.Context) error { return missing }},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()

	reg := registerapi.NewRegistrationClient(dial(t, filepath.Join(opts.KubeletDir, "plugins_registry", opts.DriverName+"-reg.sock")))
	info, err := reg.GetInfo(ctx, &registerapi.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != opts.DriverName || info.Endpoint != opts.KubeletRegistrationPath || info.Type != registerapi.CSIPlugin {
		t.Fatalf("kubelet would learn %+v", info)
	}
	ident := csi.NewIdentityClient(dial(t, filepath.Join(dir, "csi.sock")))
	pi, err := ident.GetPluginInfo(ctx, &csi.GetPluginInfoRequest{})
	if err != nil || pi.GetName() != opts.DriverName {
		t.Fatalf("GetPluginInfo = %v, %v; want the configured name", pi, err)
	}

	get := func() (int, string) {
		deadline := time.Now().Add(5 * time.Second)
		for {
			resp, err := http.Get("http://" + health + "/healthz")
			if err == nil {
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			if time.Now().After(deadline) {
				t.Fatalf("health endpoint never answered: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if code, body := get(); code != http.StatusOK {
		t.Fatalf("healthy node: %d %q", code, body)
	}
	missing = errors.New("iscsid is not running")
	if code, body := get(); code != http.StatusServiceUnavailable || !strings.Contains(body, "iscsid") {
		t.Fatalf("node without iscsid: %d %q", code, body)
	}
}
