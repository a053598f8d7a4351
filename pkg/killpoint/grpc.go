package killpoint

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Interceptor arms a call that carries MetadataKey, and answers it with
// the commands it ran in the trailer. It must be the innermost interceptor,
// so that calls refused before their handler (the controller gate) are not
// armed. Calls without the key pass through untouched.
func (in *Injector) Interceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(MetadataKey)
	if len(vals) == 0 {
		return handler(ctx, req)
	}
	// The arming errors below are the test hook's own, not the driver's:
	// they never reach a CO, only an e2e test that asked for a kill point.
	spec, err := ParseSpec(vals[0])
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	c := &call{method: info.FullMethod, spec: spec}
	in.mu.Lock()
	if in.active != nil {
		other := in.active.method
		in.mu.Unlock()
		return nil, status.Errorf(codes.FailedPrecondition, "killpoint: %s is armed already; one armed call at a time", other)
	}
	in.active = c
	in.mu.Unlock()
	defer func() {
		in.mu.Lock()
		in.active = nil
		in.mu.Unlock()
	}()
	resp, err := handler(context.WithValue(ctx, callKey{}, c), req)
	_ = grpc.SetTrailer(ctx, metadata.MD{CommandsKey: c.list()})
	return resp, err
}
