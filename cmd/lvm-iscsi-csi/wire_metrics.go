package main

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/driver"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/metrics"
)

// newMetrics returns the registry the driver's metrics go to when
// --metrics-address asks for them, and nil when it does not (then nothing
// is counted or served).
func newMetrics(opts driver.Options) *prometheus.Registry {
	if opts.MetricsAddress == "" {
		return nil
	}
	return metrics.NewRegistry()
}

// serveMetrics counts every call and serves reg on --metrics-address.
func serveMetrics(opts driver.Options, cfg *driver.Config, reg *prometheus.Registry) {
	if reg == nil {
		return
	}
	cfg.Interceptors = append(cfg.Interceptors, metrics.NewRPC(reg).Interceptor())
	cfg.Background = append(cfg.Background, func(ctx context.Context) {
		if err := metrics.Serve(ctx, opts.MetricsAddress, reg); err != nil {
			klog.ErrorS(err, "Metrics endpoint stopped", "address", opts.MetricsAddress)
		}
	})
}

// nodeMetrics reads the node's figures from its stage records and sysfs.
func nodeMetrics(node *driver.NodeServer) metrics.NodeSource {
	return metrics.NodeSource{
		StagedVolumes: node.StagedVolumes,
		SessionsByState: func() (map[string]int, error) {
			sessions, err := iscsi.SessionStates("/sys")
			if err != nil {
				return nil, err
			}
			return driver.SessionsByState(sessions), nil
		},
	}
}
