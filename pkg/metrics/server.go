package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"
)

// Handler serves the registry's metrics: /metrics and nothing else.
func Handler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry: reg, // counts its own errors
		// A figure that cannot be read (node.go) leaves out that metric,
		// not the whole answer.
		ErrorHandling: promhttp.ContinueOnError,
		// A scrape never waits on the storage host (the collectors read
		// memory), so one that takes long is a stuck process: give up.
		Timeout: 10 * time.Second,
	}))
	return mux
}

// Serve listens on address (host:port) until ctx ends. It is its own
// listener, apart from /healthz (--health-address): a Prometheus reaching
// the metrics port must not reach the liveness endpoint, and the other way
// round.
func Serve(ctx context.Context, address string, reg *prometheus.Registry) error {
	l, err := net.Listen("tcp", address)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: Handler(reg), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	klog.InfoS("Serving metrics", "address", l.Addr().String(), "path", "/metrics")
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
