// Package metrics exposes the driver's Prometheus metrics (docs/metrics.md
// lists every one): a gRPC interceptor counting and timing every call,
// collectors that turn the controller's and the node's own figures into
// metrics at scrape time without running a command, and the HTTP listener
// of --metrics-address. Everything is registered on a registry the caller
// creates and passes in; nothing uses Prometheus' global registry.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// namespace prefixes every metric of the driver.
const namespace = "lvm_iscsi_csi"

// NewRegistry returns a registry holding the Go runtime's and the
// process's standard metrics; the driver's own are added to it.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
