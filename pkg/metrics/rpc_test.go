package metrics

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRPCInterceptorCountsByMethodAndCode(t *testing.T) {
	reg := prometheus.NewRegistry()
	icpt := NewRPC(reg).Interceptor()
	call := func(method string, err error) {
		info := &grpc.UnaryServerInfo{FullMethod: method}
		_, got := icpt(context.Background(), nil, info, func(context.Context, any) (any, error) { return nil, err })
		if got != err {
			t.Fatalf("the interceptor changed the error: %v", got)
		}
	}
	call("/csi.v1.Controller/CreateVolume", nil)
	call("/csi.v1.Controller/CreateVolume", nil)
	call("/csi.v1.Controller/CreateVolume", status.Error(codes.ResourceExhausted, "full"))
	call("/csi.v1.Node/NodeStageVolume", status.Error(codes.Aborted, "busy"))
	want := `
# HELP lvm_iscsi_csi_rpc_requests_total CSI calls answered, by gRPC method and status code.
# TYPE lvm_iscsi_csi_rpc_requests_total counter
lvm_iscsi_csi_rpc_requests_total{code="Aborted",method="/csi.v1.Node/NodeStageVolume"} 1
lvm_iscsi_csi_rpc_requests_total{code="OK",method="/csi.v1.Controller/CreateVolume"} 2
lvm_iscsi_csi_rpc_requests_total{code="ResourceExhausted",method="/csi.v1.Controller/CreateVolume"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "lvm_iscsi_csi_rpc_requests_total"); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "lvm_iscsi_csi_rpc_duration_seconds"); err != nil || n != 3 {
		t.Fatalf("duration series: %d, %v; want one per method and code", n, err)
	}
}
