package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// rpcBuckets reach from a cached Probe to a stage that waits for a slow
// login, format and mount (minutes).
var rpcBuckets = []float64{0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// RPC counts and times gRPC calls by method and code.
type RPC struct {
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewRPC registers the RPC metrics on reg.
func NewRPC(reg prometheus.Registerer) *RPC {
	r := &RPC{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "rpc_requests_total",
			Help: "CSI calls answered, by gRPC method and status code.",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "rpc_duration_seconds",
			Help:    "Time to answer a CSI call, by gRPC method and status code.",
			Buckets: rpcBuckets,
		}, []string{"method", "code"}),
	}
	reg.MustRegister(r.calls, r.duration)
	return r
}

// Interceptor observes each call once it is answered. It must be the
// outermost interceptor, so the code is the one the client sees (a panic
// turned into Internal, a standby controller's Unavailable included).
func (r *RPC) Interceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		code := status.Code(err).String()
		r.calls.WithLabelValues(info.FullMethod, code).Inc()
		r.duration.WithLabelValues(info.FullMethod, code).Observe(time.Since(start).Seconds())
		return resp, err
	}
}
