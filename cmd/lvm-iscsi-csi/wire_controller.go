package main

import (
	"context"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	utilexec "k8s.io/utils/exec"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/blockdev"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/driver"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/metrics"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// Command timeouts on the storage host. Zeroing a thick volume before
// removal runs at the device's write speed, so it gets hours, not minutes.
const (
	lvmTimeout  = 5 * time.Minute
	tgtTimeout  = time.Minute
	wipeTimeout = 6 * time.Hour
	// lockPollInterval: a waiting controller takes over within this long
	// of the one before it exiting.
	lockPollInterval = time.Second
)

func wireController(ctx context.Context, opts driver.Options, cfg *driver.Config, reg *prometheus.Registry) error {
	// The kill points (test build only) see every command; none otherwise.
	return wireControllerWith(ctx, opts, cfg, killpointExec(utilexec.New()), reg)
}

// wireControllerWith wires the controller over exec, through which every
// lvm, tgtadm, blkdiscard and dd command runs (a fake in tests).
// reg, when not nil, gets the pool's metrics.
func wireControllerWith(_ context.Context, opts driver.Options, cfg *driver.Config, exec utilexec.Interface, reg *prometheus.Registry) error {
	var lvmOpts []lvm.Option
	if opts.LVMGlobalFilter != "" {
		lvmOpts = append(lvmOpts, lvm.WithGlobalFilter(opts.LVMGlobalFilter))
	}
	l := lvm.New(runner.New(exec, lvmTimeout), opts.MaxConcurrentLVM, lvmOpts...)
	t := tgt.New(runner.New(exec, tgtTimeout), opts.TgtControlPort)
	secrets, err := pool.NewFileSecrets(filepath.Join(opts.StateDir, "chap"))
	if err != nil {
		return err
	}
	p, err := pool.New(pool.Config{
		VolumeGroup:         opts.VolumeGroup,
		ThinPool:            opts.ThinPool,
		Portal:              opts.Portal,
		IQNPrefix:           opts.IQNPrefix,
		CHAP:                opts.CHAP,
		OverprovisionRatio:  opts.OverprovisionRatio,
		ThinPoolWarnPercent: opts.ThinPoolWarnPercent,
		ThinPoolFullPercent: opts.ThinPoolFullPercent,

		AllowThinPoolWithoutZeroing: opts.AllowThinPoolWithoutZeroing,
	}, l, t, secrets, blockdev.New(runner.New(exec, wipeTimeout)))
	if err != nil {
		return err
	}
	// Probe's reads of the volume group have a slot of their own, so a
	// burst of provisioning never makes the liveness probe time out.
	p.ReadFromForReadiness(l.Reserved(1))
	if reg != nil {
		metrics.NewController(reg, p.Stats, opts.VolumeGroup, opts.ThinPool)
	}
	socket := tgt.SocketPath(opts.TgtControlPort)
	// Until this process holds the locks, it serves no controller call,
	// Probe says why, and the reconciler does not start: another
	// controller owns tgtd and the volume group.
	lock := controllerLock(opts)
	if _, err := lock.TryOnce(); err != nil {
		return err
	}
	watchHealth, err := kubeEvents(opts, p)
	if err != nil {
		return err
	}
	cfg.Controller = driver.NewControllerServer(p)
	cfg.ControllerGate = lock.Check
	cfg.Prerequisites = append(cfg.Prerequisites,
		driver.Prerequisite{Name: "sole controller of this volume group and tgtd", Check: lock.Check},
		driver.CachedPrerequisite(driver.Prerequisite{Name: "volume group", Check: p.Ready}),
		driver.SocketPrerequisite("tgtd control socket", socket))
	cfg.Background = append(cfg.Background,
		func(ctx context.Context) { _ = lock.Run(ctx, lockPollInterval) },
		func(ctx context.Context) {
			select {
			case <-lock.Held():
				p.RunReconciler(ctx, socket, opts.ReconcileInterval)
			case <-ctx.Done():
			}
		})
	if watchHealth != nil {
		cfg.Background = append(cfg.Background, func(ctx context.Context) {
			select {
			case <-lock.Held():
				watchHealth(ctx)
			case <-ctx.Done():
			}
		})
	}
	return nil
}
