//go:build killpoints

package main

import (
	"google.golang.org/grpc"
	"k8s.io/klog/v2"
	utilexec "k8s.io/utils/exec"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/killpoint"
)

// This file is compiled only with `-tags killpoints` (the e2e harness's
// second binary, bin/lvm-iscsi-csi-killpoints): every external command the
// process runs goes through the kill-point injector, which a gRPC call
// arms with metadata (pkg/killpoint). The production binary has
// killpoints_off.go instead and cannot contain the injector.
var injector = killpoint.New()

func killpointExec(e utilexec.Interface) utilexec.Interface { return injector.Exec(e) }

func killpointInterceptors() []grpc.UnaryServerInterceptor {
	// Said here, once the log format is set up (wire), not in init.
	klog.InfoS("TEST BUILD: kill points compiled in (build tag killpoints); a gRPC call can make this process kill itself. Never run this binary in production.")
	return []grpc.UnaryServerInterceptor{injector.Interceptor}
}
