// Package kubeletplugin serves what kubelet needs of a plugin process besides
// CSI itself: plugin registration (the job of node-driver-registrar) and an
// HTTP health endpoint for a liveness probe (the job of livenessprobe). The
// driver serves both itself, so a node runs one image fewer and what the
// tests run is what users get; the upstream sidecars remain selectable in
// the chart.
package kubeletplugin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	"k8s.io/klog/v2"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// csiVersions are the CSI spec versions announced to kubelet.
var csiVersions = []string{"1.0.0"}

// Registration is what kubelet's plugin watcher learns about the driver.
type Registration struct {
	// DriverName is the CSI driver name (CSIDriver, StorageClass provisioner).
	DriverName string
	// Endpoint is the CSI socket as kubelet sees it (a host path).
	Endpoint string
	// RegistryDir is kubelet's plugin registry (<kubelet-dir>/plugins_registry);
	// kubelet watches it for registration sockets.
	RegistryDir string
}

// SocketPath is the registration socket kubelet finds in RegistryDir.
func (r Registration) SocketPath() string {
	return filepath.Join(r.RegistryDir, r.DriverName+"-reg.sock")
}

// registrationServer answers kubelet's two calls.
type registrationServer struct {
	registerapi.UnimplementedRegistrationServer
	reg Registration
	// status receives kubelet's verdict (nil: registered).
	status chan<- error
}

func (s *registrationServer) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	return &registerapi.PluginInfo{
		Type:              registerapi.CSIPlugin,
		Name:              s.reg.DriverName,
		Endpoint:          s.reg.Endpoint,
		SupportedVersions: csiVersions,
	}, nil
}

func (s *registrationServer) NotifyRegistrationStatus(_ context.Context, st *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	var err error
	if !st.PluginRegistered {
		err = fmt.Errorf("kubelet refused the registration: %s", st.Error)
	}
	select {
	case s.status <- err:
	default: // nobody is waiting: a repeated notification
	}
	return &registerapi.RegistrationStatusResponse{}, nil
}

// Serve offers the registration socket until ctx ends, then removes it.
// A refused registration is logged and makes status (when not nil) receive
// the error; kubelet retries by calling GetInfo again when the socket is
// re-created, which a restart of the plugin does.
func (r Registration) Serve(ctx context.Context, status chan<- error) error {
	if r.DriverName == "" || !filepath.IsAbs(r.Endpoint) || !filepath.IsAbs(r.RegistryDir) {
		return errors.New("plugin registration needs a driver name, an absolute endpoint path and an absolute registry directory")
	}
	if err := os.MkdirAll(r.RegistryDir, 0o750); err != nil {
		return fmt.Errorf("creating the plugin registry %s: %w", r.RegistryDir, err)
	}
	path := r.SocketPath()
	// A socket left by an earlier run is stale: kubelet would talk to no
	// one. Anything else at that path is not ours to remove.
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return fmt.Errorf("%s exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("removing the stale registration socket %s: %w", path, err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", path, err)
	}
	if status == nil {
		status = make(chan error, 1)
	}
	notified := make(chan error, 1)
	srv := grpc.NewServer()
	registerapi.RegisterRegistrationServer(srv, &registrationServer{reg: r, status: notified})
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case err := <-notified:
				if err != nil {
					klog.ErrorS(err, "Plugin registration failed", "driver", r.DriverName, "socket", path)
				} else {
					klog.InfoS("Registered with kubelet", "driver", r.DriverName, "endpoint", r.Endpoint)
				}
				select {
				case status <- err:
				default:
				}
			}
		}
	}()
	go func() {
		<-ctx.Done()
		srv.Stop()
	}()
	klog.InfoS("Serving kubelet plugin registration", "socket", path)
	err = srv.Serve(l)
	os.Remove(path)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
