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
)

func wireController(_ context.Context, opts driver.Options, cfg *driver.Config) error {
	exec := utilexec.New()
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
	cfg.Controller = driver.NewControllerServer(p)
	cfg.Prerequisites = append(cfg.Prerequisites,
		driver.Prerequisite{Name: "volume group", Check: p.Ready},
		driver.SocketPrerequisite("tgtd control socket", socket))
	cfg.Background = append(cfg.Background, func(ctx context.Context) {
		p.RunReconciler(ctx, socket, opts.ReconcileInterval)
	})
	return nil
}
