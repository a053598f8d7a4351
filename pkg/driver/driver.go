// Package driver holds the CSI servers: identity, controller and node. It
// speaks gRPC and validates everything that arrives; the storage host is
// reached through pkg/pool and the node's tools through pkg/iscsi and
// k8s.io/mount-utils, so no command is run from here directly.
package driver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/kubeletplugin"
)

// gracePeriod is how long in-flight RPCs get to finish on shutdown.
const gracePeriod = 30 * time.Second

// Config is what a Driver is built from: the validated options and the
// servers of its mode, each constructed with its own dependencies.
type Config struct {
	Options       Options
	Version       string
	Controller    csi.ControllerServer // required in controller and all modes
	Node          csi.NodeServer       // required in node and all modes
	Prerequisites []Prerequisite
	// Background runs for the driver's lifetime (e.g. the controller's
	// tgtd reconciler); it must return when ctx is cancelled.
	Background []func(ctx context.Context)
	// ControllerGate, when set, is asked before each controller call
	// (gate.go): while it returns an error, the call fails with it.
	ControllerGate func(ctx context.Context) error
	// Interceptors run around every call, outside the logging one (the
	// metrics' interceptor, which must see the code the client gets).
	Interceptors []grpc.UnaryServerInterceptor
	// InnerInterceptors run innermost, after the gate, around every
	// handler (cmd/lvm-iscsi-csi adds the test-only kill points here in a
	// binary built with the killpoints tag; none otherwise).
	InnerInterceptors []grpc.UnaryServerInterceptor
}

// Driver is one plugin process.
type Driver struct {
	cfg      Config
	identity *IdentityServer
	server   *grpc.Server
}

// New checks cfg and builds the gRPC server with only the services the
// mode needs.
func New(cfg Config) (*Driver, error) {
	mode := cfg.Options.Mode
	if mode.hasController() && cfg.Controller == nil {
		return nil, errors.New("controller mode without a controller server")
	}
	if mode.hasNode() && cfg.Node == nil {
		return nil, errors.New("node mode without a node server")
	}
	if cfg.Options.DriverName == "" {
		return nil, errors.New("no driver name")
	}
	interceptors := append(slices.Clone(cfg.Interceptors), logAndRecover)
	if cfg.ControllerGate != nil {
		interceptors = append(interceptors, gateController(cfg.ControllerGate))
	}
	interceptors = append(interceptors, cfg.InnerInterceptors...)
	d := &Driver{
		cfg:      cfg,
		identity: &IdentityServer{name: cfg.Options.DriverName, version: cfg.Version, mode: mode, prerequisites: cfg.Prerequisites},
		server:   grpc.NewServer(grpc.ChainUnaryInterceptor(interceptors...)),
	}
	csi.RegisterIdentityServer(d.server, d.identity)
	if mode.hasController() {
		csi.RegisterControllerServer(d.server, cfg.Controller)
	}
	if mode.hasNode() {
		csi.RegisterNodeServer(d.server, cfg.Node)
	}
	return d, nil
}

// Run serves until ctx is cancelled (SIGTERM in main), then lets in-flight
// RPCs finish for up to gracePeriod and removes the socket.
func (d *Driver) Run(ctx context.Context) error {
	path, err := SocketPath(d.cfg.Options.Endpoint)
	if err != nil {
		return err
	}
	l, err := listen(path)
	if err != nil {
		return err
	}
	return d.serve(ctx, l, path)
}

func (d *Driver) serve(ctx context.Context, l net.Listener, path string) error {
	defer os.Remove(path)
	bgCtx, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	for _, bg := range append(d.kubeletServices(), d.cfg.Background...) {
		go bg(bgCtx)
	}
	errc := make(chan error, 1)
	go func() { errc <- d.server.Serve(l) }()
	klog.InfoS("Serving CSI", "driver", d.cfg.Options.DriverName, "version", d.cfg.Version, "mode", d.cfg.Options.Mode, "endpoint", d.cfg.Options.Endpoint)
	select {
	case err := <-errc:
		return fmt.Errorf("gRPC server stopped: %w", err)
	case <-ctx.Done():
	}
	klog.InfoS("Shutting down: waiting for in-flight calls", "gracePeriod", gracePeriod)
	stopped := make(chan struct{})
	go func() { d.server.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(gracePeriod):
		klog.InfoS("Grace period over, stopping now")
		d.server.Stop()
	}
	return nil
}

// kubeletServices are what kubelet needs besides CSI, when the options ask
// for them: plugin registration (node mode) and the health endpoint.
func (d *Driver) kubeletServices() []func(ctx context.Context) {
	o := d.cfg.Options
	var services []func(ctx context.Context)
	if o.Mode.hasNode() && o.KubeletRegistrationPath != "" {
		reg := kubeletplugin.Registration{
			DriverName:  o.DriverName,
			Endpoint:    o.KubeletRegistrationPath,
			RegistryDir: filepath.Join(o.KubeletDir, "plugins_registry"),
		}
		services = append(services, func(ctx context.Context) {
			if err := reg.Serve(ctx, nil); err != nil {
				klog.ErrorS(err, "Kubelet plugin registration stopped; kubelet will not use this node plugin", "socket", reg.SocketPath())
			}
		})
	}
	if o.HealthAddress != "" {
		health := kubeletplugin.Health{Address: o.HealthAddress, Check: d.identity.ready}
		services = append(services, func(ctx context.Context) {
			if err := health.Serve(ctx); err != nil {
				klog.ErrorS(err, "Health endpoint stopped", "address", o.HealthAddress)
			}
		})
	}
	return services
}
