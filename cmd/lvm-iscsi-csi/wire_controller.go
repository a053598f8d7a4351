package main

import (
	"context"
	"path/filepath"
	"time"

	utilexec "k8s.io/utils/exec"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/blockdev"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/driver"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
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

func wireController(_ context.Context, opts driver.Options, cfg *driver.Config) error {
	exec := killpointExec(utilexec.New())
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

		AllowThinPoolWithoutZeroing: opts.AllowThinPoolWithoutZeroing,
	}, l, t, secrets, blockdev.New(runner.New(exec, wipeTimeout)))
	if err != nil {
		return err
	}
	socket := tgt.SocketPath(opts.TgtControlPort)
	// Until this process holds the locks, it serves no controller call,
	// Probe says why, and the reconciler does not start: another
	// controller owns tgtd and the volume group.
	lock := controllerLock(opts)
	if _, err := lock.TryOnce(); err != nil {
		return err
	}
	cfg.Controller = driver.NewControllerServer(p)
	cfg.ControllerGate = lock.Check
	cfg.Prerequisites = append(cfg.Prerequisites,
		driver.Prerequisite{Name: "sole controller of this volume group and tgtd", Check: lock.Check},
		driver.Prerequisite{Name: "volume group", Check: p.Ready},
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
	return nil
}
