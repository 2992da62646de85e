// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// It implements the interceptor types and their chaining, in grpc-go's
// order: the interceptor given by UnaryInterceptor (server) or
// WithUnaryInterceptor (client) is the outermost, then those given by the
// Chain options, first to last. Nothing is left out: stream interceptors run
// around the stream handlers of served streaming rpcs, and the client's
// around NewStream.
package grpc

import "context"

// UnaryInvoker is called by UnaryClientInterceptor to complete RPCs.
type UnaryInvoker func(ctx context.Context, method string, req, reply any, cc *ClientConn, opts ...CallOption) error

// UnaryClientInterceptor intercepts the execution of a unary RPC on the
// client. invoker is the handler to complete the RPC and it is the
// responsibility of the interceptor to call it.
type UnaryClientInterceptor func(ctx context.Context, method string, req, reply any, cc *ClientConn, invoker UnaryInvoker, opts ...CallOption) error

// Streamer is called by StreamClientInterceptor to create a ClientStream.
type Streamer func(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, opts ...CallOption) (ClientStream, error)

// StreamClientInterceptor intercepts the creation of a ClientStream.
type StreamClientInterceptor func(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, streamer Streamer, opts ...CallOption) (ClientStream, error)

// UnaryServerInfo consists of various information about a unary RPC on
// server side. All per-rpc information may be mutated by the interceptor.
type UnaryServerInfo struct {
	// Server is the service implementation the user provides. This is
	// read-only.
	Server any
	// FullMethod is the full RPC method string, i.e.,
	// /package.service/method.
	FullMethod string
}

// UnaryHandler defines the handler invoked by UnaryServerInterceptor to
// complete the normal execution of a unary RPC.
type UnaryHandler func(ctx context.Context, req any) (any, error)

// UnaryServerInterceptor provides a hook to intercept the execution of a
// unary RPC on the server. info contains all the information of this RPC
// the interceptor can operate on. And handler is the wrapper of the service
// method implementation. It is the responsibility of the interceptor to
// invoke handler to complete the RPC.
type UnaryServerInterceptor func(ctx context.Context, req any, info *UnaryServerInfo, handler UnaryHandler) (resp any, err error)

// StreamServerInfo consists of various information about a streaming RPC
// on server side. All per-rpc information may be mutated by the
// interceptor.
type StreamServerInfo struct {
	// FullMethod is the full RPC method string, i.e.,
	// /package.service/method.
	FullMethod string
	// IsClientStream indicates whether the RPC is a client streaming RPC.
	IsClientStream bool
	// IsServerStream indicates whether the RPC is a server streaming RPC.
	IsServerStream bool
}

// StreamServerInterceptor provides a hook to intercept the execution of a
// streaming RPC on the server.
type StreamServerInterceptor func(srv any, ss ServerStream, info *StreamServerInfo, handler StreamHandler) error

// chainUnaryServerInterceptors makes one interceptor of first (may be nil)
// followed by rest; nil if there are none.
func chainUnaryServerInterceptors(first UnaryServerInterceptor, rest []UnaryServerInterceptor) UnaryServerInterceptor {
	ints := prepend(first, first != nil, rest)
	switch len(ints) {
	case 0:
		return nil
	case 1:
		return ints[0]
	}
	return func(ctx context.Context, req any, info *UnaryServerInfo, handler UnaryHandler) (any, error) {
		return ints[0](ctx, req, info, unaryServerChainStep(ints[1:], info, handler))
	}
}

func unaryServerChainStep(ints []UnaryServerInterceptor, info *UnaryServerInfo, final UnaryHandler) UnaryHandler {
	if len(ints) == 0 {
		return final
	}
	return func(ctx context.Context, req any) (any, error) {
		return ints[0](ctx, req, info, unaryServerChainStep(ints[1:], info, final))
	}
}

func chainStreamServerInterceptors(first StreamServerInterceptor, rest []StreamServerInterceptor) StreamServerInterceptor {
	ints := prepend(first, first != nil, rest)
	switch len(ints) {
	case 0:
		return nil
	case 1:
		return ints[0]
	}
	return func(srv any, ss ServerStream, info *StreamServerInfo, handler StreamHandler) error {
		return ints[0](srv, ss, info, streamServerChainStep(ints[1:], info, handler))
	}
}

func streamServerChainStep(ints []StreamServerInterceptor, info *StreamServerInfo, final StreamHandler) StreamHandler {
	if len(ints) == 0 {
		return final
	}
	return func(srv any, ss ServerStream) error {
		return ints[0](srv, ss, info, streamServerChainStep(ints[1:], info, final))
	}
}

func chainUnaryClientInterceptors(first UnaryClientInterceptor, rest []UnaryClientInterceptor) UnaryClientInterceptor {
	ints := prepend(first, first != nil, rest)
	switch len(ints) {
	case 0:
		return nil
	case 1:
		return ints[0]
	}
	return func(ctx context.Context, method string, req, reply any, cc *ClientConn, invoker UnaryInvoker, opts ...CallOption) error {
		return ints[0](ctx, method, req, reply, cc, unaryClientChainStep(ints[1:], invoker), opts...)
	}
}

func unaryClientChainStep(ints []UnaryClientInterceptor, final UnaryInvoker) UnaryInvoker {
	if len(ints) == 0 {
		return final
	}
	return func(ctx context.Context, method string, req, reply any, cc *ClientConn, opts ...CallOption) error {
		return ints[0](ctx, method, req, reply, cc, unaryClientChainStep(ints[1:], final), opts...)
	}
}

func chainStreamClientInterceptors(first StreamClientInterceptor, rest []StreamClientInterceptor) StreamClientInterceptor {
	ints := prepend(first, first != nil, rest)
	switch len(ints) {
	case 0:
		return nil
	case 1:
		return ints[0]
	}
	return func(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, streamer Streamer, opts ...CallOption) (ClientStream, error) {
		return ints[0](ctx, desc, cc, method, streamClientChainStep(ints[1:], streamer), opts...)
	}
}

func streamClientChainStep(ints []StreamClientInterceptor, final Streamer) Streamer {
	if len(ints) == 0 {
		return final
	}
	return func(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, opts ...CallOption) (ClientStream, error) {
		return ints[0](ctx, desc, cc, method, streamClientChainStep(ints[1:], final), opts...)
	}
}

// prepend returns first (if hasFirst) followed by rest, in a fresh slice.
func prepend[T any](first T, hasFirst bool, rest []T) []T {
	out := make([]T, 0, len(rest)+1)
	if hasFirst {
		out = append(out, first)
	}
	return append(out, rest...)
}
