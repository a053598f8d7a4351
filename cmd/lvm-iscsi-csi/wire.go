package main

import (
	"context"
	"fmt"
	"os"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/driver"
)

// wire builds the servers of the selected mode from their real
// dependencies. It is the only place that knows which concrete tools stand
// behind the driver's interfaces.
func wire(ctx context.Context, opts driver.Options) (driver.Config, error) {
	cfg := driver.Config{Options: opts, InnerInterceptors: killpointInterceptors()}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return cfg, fmt.Errorf("creating --state-dir: %w", err)
	}
	if err := os.Chmod(opts.StateDir, 0o700); err != nil {
		return cfg, fmt.Errorf("securing --state-dir: %w", err)
	}
	reg := newMetrics(opts)
	if opts.Mode == driver.ModeController || opts.Mode == driver.ModeAll {
		if err := wireController(ctx, opts, &cfg, reg); err != nil {
			return cfg, err
		}
	}
	if opts.Mode == driver.ModeNode || opts.Mode == driver.ModeAll {
		if err := wireNode(ctx, opts, &cfg, reg); err != nil {
			return cfg, err
		}
	}
	serveMetrics(opts, &cfg, reg)
	return cfg, nil
}
