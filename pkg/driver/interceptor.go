package driver

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/kubernetes-csi/csi-lib-utils/protosanitizer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
)

// payloadVerbosity is the klog level at which requests and responses are
// logged (sanitized). Calls that change something, and every failure, are
// logged at level 0 without them; the calls a CO repeats all day to watch
// (quietMethods) only at quietVerbosity.
const (
	payloadVerbosity = 5
	quietVerbosity   = 4
)

// quietMethods are polled by kubelet, the sidecars and the liveness probe:
// logging each success at level 0 would bury what matters.
var quietMethods = map[string]bool{
	"/csi.v1.Identity/Probe":                        true,
	"/csi.v1.Identity/GetPluginInfo":                true,
	"/csi.v1.Identity/GetPluginCapabilities":        true,
	"/csi.v1.Controller/ControllerGetCapabilities":  true,
	"/csi.v1.Controller/GetCapacity":                true,
	"/csi.v1.Controller/ListVolumes":                true,
	"/csi.v1.Controller/ListSnapshots":              true,
	"/csi.v1.Controller/ControllerGetVolume":        true,
	"/csi.v1.Controller/ControllerGetVolumeHealth":  true,
	"/csi.v1.Controller/ControllerListVolumeHealth": true,
	"/csi.v1.Node/NodeGetCapabilities":              true,
	"/csi.v1.Node/NodeGetInfo":                      true,
	"/csi.v1.Node/NodeGetVolumeStats":               true,
	"/csi.v1.Node/NodeGetVolumeHealth":              true,
}

// logAndRecover is the single gRPC interceptor: it logs each call (method,
// duration, code), logs payloads at higher verbosity with secrets stripped,
// and turns a panic into codes.Internal so one bad request cannot take the
// plugin down.
func logAndRecover(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	if klog.V(payloadVerbosity).Enabled() {
		klog.InfoS("GRPC request", "method", info.FullMethod, "request", sanitize(req))
	}
	defer func() {
		if r := recover(); r != nil {
			klog.ErrorS(nil, "Panic in gRPC handler", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			resp, err = nil, panicError(info.FullMethod)
		}
		code := status.Code(err)
		if err != nil {
			klog.ErrorS(err, "GRPC call failed", "method", info.FullMethod, "code", code.String(), "duration", time.Since(start))
		} else {
			verbosity := klog.Level(0)
			if quietMethods[info.FullMethod] {
				verbosity = quietVerbosity
			}
			klog.V(verbosity).InfoS("GRPC call", "method", info.FullMethod, "code", code.String(), "duration", time.Since(start))
			if klog.V(payloadVerbosity).Enabled() {
				klog.InfoS("GRPC response", "method", info.FullMethod, "response", sanitize(resp))
			}
		}
	}()
	return handler(ctx, req)
}

// secretContextKey reports whether a publish_context value is secret: the
// CSI spec only marks `secrets` fields, but the CHAP credentials travel in
// publish_context (pkg/publish.SecretKeys), so they are masked here too,
// along with anything whose name says it is a password or secret.
func secretContextKey(key string) bool {
	if slices.Contains(publish.SecretKeys, key) {
		return true
	}
	k := strings.ToLower(key)
	return strings.Contains(k, "password") || strings.Contains(k, "secret")
}

// sanitize renders a message for the log with csi_secret fields stripped
// (protosanitizer) and secret publish_context values masked.
func sanitize(msg any) string {
	m, ok := msg.(proto.Message)
	if !ok || m == nil {
		return protosanitizer.StripSecrets(msg).String()
	}
	m = proto.Clone(m)
	maskContextSecrets(m.ProtoReflect())
	return protosanitizer.StripSecrets(m).String()
}

func maskContextSecrets(m protoreflect.Message) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		switch {
		case fd.IsMap() && fd.Name() == "publish_context":
			mp := m.Mutable(fd).Map()
			mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				if secretContextKey(k.String()) {
					mp.Set(k, protoreflect.ValueOfString("***stripped***"))
				}
				return true
			})
		case fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap():
			maskContextSecrets(m.Mutable(fd).Message())
		}
	}
}
