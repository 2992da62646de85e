// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// Package cofaasrt is the meeting point of package grpc and package cofaas
// (which imports grpc, so grpc cannot import it): the table of invokers that
// ClientConn.Invoke routes to, and the hooks through which cofaas.UnaryCall
// reaches the services registered on grpc Servers and cofaas.Init learns
// whether main is serving. It has no counterpart in grpc-go.
package cofaasrt

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/grpc/metadata"
)

// Invoker performs one unary rpc of an imported service.
type Invoker func(ctx context.Context, req, reply any) error

var (
	mu       sync.RWMutex
	invokers = map[string]Invoker{}
)

// RegisterInvoker routes fullMethod ("/pkg.Service/Method") to invoke. It
// panics on a nil invoker or a second registration of the same method.
func RegisterInvoker(fullMethod string, invoke Invoker) {
	if invoke == nil {
		panic(fmt.Sprintf("cofaas: nil invoker registered for %q", fullMethod))
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := invokers[fullMethod]; dup {
		panic(fmt.Sprintf("cofaas: a second invoker registered for %q", fullMethod))
	}
	invokers[fullMethod] = invoke
}

// LookupInvoker returns the invoker registered for fullMethod.
func LookupInvoker(fullMethod string) (Invoker, bool) {
	mu.RLock()
	defer mu.RUnlock()
	inv, ok := invokers[fullMethod]
	return inv, ok
}

// ServeUnary is set by package grpc's init to the function that serves one
// unary rpc on the registered services.
// The rpc's request metadata is md (the handler's incoming metadata); the
// response headers and trailers the handler sets go to out, if not nil.
var ServeUnary func(ctx context.Context, fullMethod string, md metadata.MD, dec func(any) error, out *ResponseMD) (any, error)

// ResponseMD is the response header and trailer metadata of one rpc.
type ResponseMD struct {
	Header, Trailer metadata.MD
}

type callResponseKey struct{}

// WithCallResponse returns ctx carrying r, where the invoker of a call made
// with it puts the call's response metadata (grpc.Header and grpc.Trailer
// ask for it).
func WithCallResponse(ctx context.Context, r *ResponseMD) context.Context {
	return context.WithValue(ctx, callResponseKey{}, r)
}

// CallResponse is the ResponseMD of ctx (WithCallResponse), or nil.
func CallResponse(ctx context.Context) *ResponseMD {
	r, _ := ctx.Value(callResponseKey{}).(*ResponseMD)
	return r
}

// ServeState is set by package grpc's init to the function that tells
// cofaas.Init whether main is serving (ready: some Server has entered
// Serve and every Server with a registered service has entered Serve or
// been stopped) and whether any service is registered.
var ServeState func() (ready, registered bool)
