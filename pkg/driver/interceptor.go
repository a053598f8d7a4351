package driver

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/kubernetes-csi/csi-lib-utils/protosanitizer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"k8s.io/klog/v2"
)

// payloadVerbosity is the klog level at which requests and responses are
// logged (sanitized); every call is logged at level 0 without them.
const payloadVerbosity = 5

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
			resp, err = nil, status.Errorf(codes.Internal, "internal error in %s (see the plugin's log)", info.FullMethod)
		}
		code := status.Code(err)
		if err != nil {
			klog.ErrorS(err, "GRPC call failed", "method", info.FullMethod, "code", code.String(), "duration", time.Since(start))
		} else {
			klog.InfoS("GRPC call", "method", info.FullMethod, "code", code.String(), "duration", time.Since(start))
			if klog.V(payloadVerbosity).Enabled() {
				klog.InfoS("GRPC response", "method", info.FullMethod, "response", sanitize(resp))
			}
		}
	}()
	return handler(ctx, req)
}

// secretContextKeys are publish_context keys whose values are secret: the
// CSI spec only marks `secrets` fields, but our CHAP credentials travel in
// publish_context (the contract in DESIGN.md), so they are masked here too.
func secretContextKey(key string) bool {
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
