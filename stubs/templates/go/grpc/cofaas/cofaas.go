// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// Package cofaas is the runtime that cofaas's generated glue code uses; it
// has no counterpart in grpc-go. It runs the function's original main once
// (which creates the Servers and registers the services, and whose
// grpc.Server.Serve returns at once), serves unary rpcs of those services
// for the component's exports, routes grpc.ClientConn.Invoke to the
// invokers of the component's imports, and converts gRPC statuses to and
// from WIT rpc-status values. Streaming rpcs are not supported yet.
package cofaas

import (
	"context"
	"sync"
	"sync/atomic"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	_ "google.golang.org/grpc" // sets cofaasrt.ServeUnary
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/internal/cofaasrt"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

var (
	mainFunc  func()
	initMu    sync.Mutex
	initState atomic.Int32 // 0: main not run yet, 1: running, 2: returned or panicked
)

// RegisterMain records the function's original main (called from an init()
// in package main). A later call replaces an earlier one.
func RegisterMain(main func()) {
	initMu.Lock()
	mainFunc = main
	initMu.Unlock()
}

// Init runs main once, on first call; later calls do nothing. If main
// panics the panic propagates (a trap); Init does not run it again. A call
// made while main runs (from main itself, say) returns at once.
func Init() {
	if initState.Load() == 2 {
		return
	}
	initMu.Lock()
	if initState.Load() != 0 {
		initMu.Unlock()
		return
	}
	initState.Store(1)
	m := mainFunc
	initMu.Unlock()
	defer initState.Store(2)
	if m != nil {
		m()
	}
}

// UnaryCall serves one unary rpc of a registered service: fullMethod is
// "/pkg.Service/Method". It runs Init() first, finds the ServiceDesc
// registered under "pkg.Service" on any Server created by main (the first
// one created, if several registered it), and calls the MethodDesc's
// Handler(impl, ctx, dec, interceptor) with the server's (chained) unary
// interceptor. The handler sees incoming metadata (empty, unless ctx has
// some) and grpc.Method(ctx) == fullMethod. An unregistered service or
// method gives a codes.Unimplemented status error naming it, as grpc-go's
// server does.
func UnaryCall(ctx context.Context, fullMethod string, dec func(any) error) (any, error) {
	Init()
	return cofaasrt.ServeUnary(ctx, fullMethod, dec)
}

// RegisterInvoker routes ClientConn.Invoke for fullMethod
// ("/pkg.Service/Method") to invoke (called by generated glue in init()).
// invoke gets the user's request and reply messages (proto.Message) and
// fills reply; the error it returns should be a status error (see
// StatusFromWit); any other error reaches the caller as codes.Unknown (or
// DeadlineExceeded/Canceled for a context error). It panics on a second
// registration of the same method.
func RegisterInvoker(fullMethod string, invoke func(ctx context.Context, req, reply any) error) {
	cofaasrt.RegisterInvoker(fullMethod, invoke)
}

// StatusToWit converts an error returned by a handler or an invoker into a
// WIT rpc-status, as grpc-go's server turns it into grpc-status,
// grpc-message and grpc-status-details-bin: a status error (or one
// wrapping it) gives its status; a context error gives DeadlineExceeded or
// Canceled; any other error gives Unknown with err.Error(). details is the
// google.rpc.Status encoded with proto.Marshal when the status has details,
// else nil. A nil err gives code 0 (OK).
func StatusToWit(err error) (code int32, message string, details []byte) {
	if err == nil {
		return 0, "", nil
	}
	st, ok := status.FromError(err)
	if !ok {
		st = status.FromContextError(err)
	}
	p := st.Proto()
	if len(p.GetDetails()) > 0 {
		if b, err := proto.Marshal(p); err == nil {
			details = b
		}
	}
	return int32(st.Code()), st.Message(), details
}

// StatusFromWit is the inverse of StatusToWit: a status error with that
// code and message, and the Details of the google.rpc.Status encoded in
// details (if non-empty and it decodes; otherwise details are ignored).
// Code 0 (OK) gives nil.
func StatusFromWit(code int32, message string, details []byte) error {
	if codes.Code(code) == codes.OK {
		return nil
	}
	p := &spb.Status{Code: code, Message: message}
	if len(details) > 0 {
		var d spb.Status
		if proto.Unmarshal(details, &d) == nil {
			p.Details = d.Details
		}
	}
	return status.ErrorProto(p)
}
