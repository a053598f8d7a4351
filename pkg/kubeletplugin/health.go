package kubeletplugin

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"k8s.io/klog/v2"
)

// checkTimeout bounds one health check: a probe that hangs is a failure,
// and must not pile up goroutines.
const checkTimeout = 10 * time.Second

// Health serves GET /healthz: 200 "ok" while check passes, 503 with the
// reason while it fails. It is what a liveness probe calls; check should be
// cheap (the driver passes its CSI Probe).
type Health struct {
	Address string // host:port to listen on, e.g. 127.0.0.1:9898
	Check   func(ctx context.Context) error
}

// Handler is the /healthz handler, for tests and for muxes of others.
func (h Health) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
		defer cancel()
		if err := h.Check(ctx); err != nil {
			klog.V(2).InfoS("Health check failed", "err", err)
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	return mux
}

// Serve listens on Address until ctx ends.
func (h Health) Serve(ctx context.Context) error {
	l, err := net.Listen("tcp", h.Address)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	klog.InfoS("Serving health checks", "address", l.Addr().String(), "path", "/healthz")
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
