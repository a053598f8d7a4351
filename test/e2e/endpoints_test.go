//go:build e2e

// Package e2e holds the project's own end-to-end tests. They talk gRPC to a
// controller and a node plugin that already run on a real kernel with real
// lvm2, tgtd and iscsid; test/e2e/guest.sh starts those and then this test
// binary (built with `go test -c -tags e2e`).
package e2e

import (
	"context"
	"flag"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// The CSI driver name fixed by the command-line contract (README). Spelled
// out here rather than imported, so a change in pkg/driver cannot pass silently.
const driverName = "lvm-iscsi.csi.io"

// rpcTimeout bounds one call; the guest is emulated, so it is generous.
const rpcTimeout = 30 * time.Second

var (
	controllerEndpoint = flag.String("controller-endpoint", os.Getenv("E2E_CONTROLLER_ENDPOINT"),
		"CSI endpoint of the running controller plugin, unix:///path (env E2E_CONTROLLER_ENDPOINT)")
	nodeEndpoint = flag.String("node-endpoint", os.Getenv("E2E_NODE_ENDPOINT"),
		"CSI endpoint of the running node plugin, unix:///path (env E2E_NODE_ENDPOINT)")
)

// plugin is one running driver process under test.
type plugin struct {
	name string // "controller" or "node", for messages
	conn *grpc.ClientConn
}

// dial connects to an endpoint given by flag. The e2e build tag is asked for
// explicitly, so a missing endpoint is a broken harness: fail, do not skip.
func dial(t *testing.T, name, endpoint string) plugin {
	t.Helper()
	if endpoint == "" {
		t.Fatalf("no %s endpoint: pass -%s-endpoint or set E2E_%s_ENDPOINT (test/e2e/guest.sh does)",
			name, name, map[string]string{"controller": "CONTROLLER", "node": "NODE"}[name])
	}
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("connecting to the %s plugin at %s: %v", name, endpoint, err)
	}
	t.Cleanup(func() { conn.Close() })
	return plugin{name: name, conn: conn}
}

// bothPlugins returns the controller and the node plugin, in that order.
func bothPlugins(t *testing.T) []plugin {
	t.Helper()
	return []plugin{dial(t, "controller", *controllerEndpoint), dial(t, "node", *nodeEndpoint)}
}

func callContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	t.Cleanup(cancel)
	return ctx
}
