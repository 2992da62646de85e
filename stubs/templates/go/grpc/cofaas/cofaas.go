// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// Package cofaas is the runtime that cofaas's generated glue code uses; it
// has no counterpart in grpc-go. It runs the function's original main
// (which creates the Servers, registers the services and calls Serve),
// serves unary rpcs of those services for the component's exports, routes
// grpc.ClientConn.Invoke to the invokers of the component's imports, and
// converts gRPC statuses to and from WIT rpc-status values. Streaming rpcs
// run their handlers in goroutines of their own (ServerCall) on the
// served side, and go through the stream invokers of the imports
// (RegisterStreamInvoker) on the calling side.
//
// # When Init returns
//
// The component's lifecycle export init calls Init once. Init starts main
// in a new goroutine, as a native program would, and returns as soon as
// one of these holds:
//
//   - main serves: some grpc.Server has entered Serve, and every Server
//     that has a registered service has entered Serve (or was stopped).
//     Serve blocks, as in grpc-go, until Stop or GracefulStop, so the code
//     after it in main (log.Fatal(s.Serve(lis)), a deferred conn.Close,
//     cleanup) does not run at init. A main with two Servers is waited for
//     until both serve, in whatever goroutines (go s1.Serve(l1);
//     s2.Serve(l2)); a Server created later than that is not waited for.
//   - main returned (a main that registers its services and returns is
//     fine: services are reachable whether or not Serve was called).
//   - main is stuck: no goroutine but Init's own can run, because all are
//     blocked (on channels, locks, timers, I/O, select{}; the goroutine of
//     os/signal does not count, as under wasip1 it polls forever). This
//     covers a main that waits for a signal, on select{} or on a WaitGroup
//     without serving. Timers count as blocked, so a main that sleeps (or
//     retries with a backoff) before serving is stuck too: Init does not
//     wait for time to pass. Init tests this (from the goroutine states in
//     runtime.Stack) each time it is scheduled; under wasip1, with one
//     thread and no preemption, that is only when every other goroutine
//     has parked or yielded. If by then no service is registered, Init
//     says so on stderr (every rpc will get codes.Unimplemented).
//
// If main panics, nothing recovers the panic: like any unrecovered panic
// it ends the program, which under wasip1 traps the instance in the init
// call. Init never blocks outright: under wasip1 a goroutine that blocks
// in an export call while every other is blocked, with no timer pending,
// ends the program ("all goroutines are asleep - deadlock!"), so Init
// yields (runtime.Gosched) between its tests instead.
//
// After Init returns, main's goroutine and those it started stay parked
// (main typically in Serve). Under wasip1 they run again only while some
// later export call blocks; a handler that does not block runs alone.
// Services registered from main's goroutine are read under a lock, and
// Serve holds none while it blocks, so rpcs served from other export calls
// see them and never wait for main.
package cofaas

import (
	"context"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	_ "google.golang.org/grpc" // sets cofaasrt.ServeUnary and ServeState
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/internal/cofaasrt"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// UnaryCall serves one unary rpc of a registered service: fullMethod is
// "/pkg.Service/Method". It runs Init() first, finds the ServiceDesc
// registered under "pkg.Service" on any Server created by main (the first
// one created, if several registered it; stopped Servers are left out),
// and calls the MethodDesc's
// Handler(impl, ctx, dec, interceptor) with the server's (chained) unary
// interceptor. The handler sees incoming metadata (empty, unless ctx has
// some) and grpc.Method(ctx) == fullMethod. An unregistered service or
// method gives a codes.Unimplemented status error naming it, as grpc-go's
// server does; a service registered only on stopped Servers gives
// codes.Unavailable.
func UnaryCall(ctx context.Context, fullMethod string, dec func(any) error) (any, error) {
	Init()
	return cofaasrt.ServeUnary(ctx, fullMethod, nil, dec, nil)
}

// UnaryCallMetadata is UnaryCall for an rpc whose request metadata is md
// (what metadata.FromIncomingContext gives the handler); it also returns
// the response headers and trailers the handler set (grpc.SetHeader,
// grpc.SendHeader, grpc.SetTrailer), with its reply or its error.
func UnaryCallMetadata(ctx context.Context, fullMethod string, md metadata.MD, dec func(any) error) (reply any, header, trailer metadata.MD, err error) {
	Init()
	var out cofaasrt.ResponseMD
	reply, err = cofaasrt.ServeUnary(ctx, fullMethod, md, dec, &out)
	return reply, out.Header, out.Trailer, err
}

// ServerCall is the served side of one streaming rpc: see StartStream.
type ServerCall = cofaasrt.ServerCall

// ClientCall is the calling side of one streaming rpc of an imported
// service, which the glue's stream invoker fills in.
type ClientCall = cofaasrt.ClientCall

// PollState is what a bidi poll found.
type PollState = cofaasrt.PollState

// What a bidi poll finds.
const (
	PollMessage = cofaasrt.PollMessage
	PollPending = cofaasrt.PollPending
	PollEnd     = cofaasrt.PollEnd
)

// StartStream serves one streaming rpc of a registered service (after
// Init): its stream handler starts in a goroutine of its own, with ctx
// (cancel ends the rpc) and md as its incoming metadata, and the
// ServerCall hands its messages to the caller one at a time. request fills
// the one request of a server-streaming rpc; nil for the other kinds.
func StartStream(ctx context.Context, cancel context.CancelFunc, fullMethod string, md metadata.MD, request func(any) error) *ServerCall {
	Init()
	return cofaasrt.StartServerCall(ctx, cancel, fullMethod, md, request)
}

// RegisterStreamInvoker routes grpc.ClientConn.NewStream for fullMethod to
// open (called by generated glue in init()). It panics on a second
// registration of the same method.
func RegisterStreamInvoker(fullMethod string, open func(ctx context.Context, call *ClientCall, request any) error) {
	cofaasrt.RegisterStreamInvoker(fullMethod, open)
}

// SetCallResponse gives the call made with ctx its response headers and
// trailers, for the grpc.Header and grpc.Trailer options of that call; an
// invoker calls it with what the callee answered. Without such options it
// does nothing.
func SetCallResponse(ctx context.Context, header, trailer metadata.MD) {
	if r := cofaasrt.CallResponse(ctx); r != nil {
		r.Header, r.Trailer = header, trailer
	}
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
