package driver

import (
	"context"
	"strings"

	"google.golang.org/grpc"
)

// ungatedControllerMethods answer whatever the gate says: they describe
// the plugin and touch neither tgtd nor the volume group.
var ungatedControllerMethods = map[string]bool{
	"/csi.v1.Controller/ControllerGetCapabilities": true,
}

// gateController refuses the controller service's calls while gate
// returns an error: this process must not act on the storage host now
// (another controller holds it, see cmd/lvm-iscsi-csi and pkg/exclusive).
// The error becomes the call's status (errors.go), so the CO retries and
// the message says who holds the storage host. Reads are refused too: an
// answer from a controller that does not own the volume group could be
// out of date by the time the owner acts.
func gateController(gate func(context.Context) error) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if strings.HasPrefix(info.FullMethod, "/csi.v1.Controller/") && !ungatedControllerMethods[info.FullMethod] {
			if err := gate(ctx); err != nil {
				return nil, toStatus(err)
			}
		}
		return handler(ctx, req)
	}
}
