// This file is part of cofaas's stand-in for grpc-go: tests of the server
// (RegisterService, Serve, cofaas.UnaryCall and interceptor order) and the
// client (Invoke routing, interceptors, call options), through the
// generated-style service in greeter_test.go.

package grpc_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/cofaas"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// trace records the order in which interceptors and handlers ran.
type trace struct {
	mu    sync.Mutex
	steps []string
}

func (t *trace) add(s string) {
	t.mu.Lock()
	t.steps = append(t.steps, s)
	t.mu.Unlock()
}

func (t *trace) take() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.steps
	t.steps = nil
	return s
}

var serverTrace trace

type greeter struct {
	UnimplementedGreeterServer
}

func (greeter) SayHello(ctx context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	serverTrace.add("handler")
	if m, ok := grpc.Method(ctx); !ok || m != Greeter_SayHello_FullMethodName {
		return nil, status.Errorf(codes.Internal, "grpc.Method = %q, %v", m, ok)
	}
	if _, ok := metadata.FromIncomingContext(ctx); !ok {
		return nil, status.Error(codes.Internal, "no incoming metadata")
	}
	if err := grpc.SetHeader(ctx, metadata.Pairs("k", "v")); err != nil {
		return nil, err
	}
	if v := metadata.ValueFromIncomingContext(ctx, "x-in"); len(v) > 0 {
		if err := grpc.SendHeader(ctx, metadata.Pairs("x-echo", v[0])); err != nil {
			return nil, err
		}
		if err := grpc.SetHeader(ctx, metadata.Pairs("late", "x")); err == nil {
			return nil, status.Error(codes.Internal, "SetHeader after SendHeader succeeded")
		}
	}
	if err := grpc.SetTrailer(ctx, metadata.Pairs("t", "1", "t", "2")); err != nil {
		return nil, err
	}
	if in.GetValue() == "fail" {
		return nil, status.Error(codes.FailedPrecondition, "asked to fail")
	}
	return wrapperspb.String("hello " + in.GetValue()), nil
}

func serverInterceptor(name string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		serverTrace.add(name + ":" + info.FullMethod)
		if _, ok := info.Server.(GreeterServer); !ok {
			return nil, status.Error(codes.Internal, "info.Server is not the impl")
		}
		return handler(ctx, req)
	}
}

var mainRuns int

// fakeMain is what a user's main does.
func fakeMain() {
	mainRuns++
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	s := grpc.NewServer(
		grpc.ChainUnaryInterceptor(serverInterceptor("chain1"), serverInterceptor("chain2")),
		grpc.UnaryInterceptor(serverInterceptor("unary")),
	)
	defer s.GracefulStop()
	RegisterGreeterServer(s, &greeter{})
	reflection.Register(s)
	if err := s.Serve(lis); err != nil {
		panic(err)
	}
}

func init() {
	cofaas.RegisterMain(fakeMain)
}

func decoder(t *testing.T, m proto.Message) func(any) error {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return func(v any) error { return proto.Unmarshal(b, v.(proto.Message)) }
}

func TestUnaryCall(t *testing.T) {
	for i := 0; i < 2; i++ {
		resp, err := cofaas.UnaryCall(context.Background(), Greeter_SayHello_FullMethodName, decoder(t, wrapperspb.String("you")))
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.(*wrapperspb.StringValue).GetValue(); got != "hello you" {
			t.Fatalf("reply = %q", got)
		}
		want := []string{"unary:" + Greeter_SayHello_FullMethodName, "chain1:" + Greeter_SayHello_FullMethodName,
			"chain2:" + Greeter_SayHello_FullMethodName, "handler"}
		if got := serverTrace.take(); !reflect.DeepEqual(got, want) {
			t.Fatalf("order = %v, want %v", got, want)
		}
	}
	if mainRuns != 1 {
		t.Fatalf("main ran %d times", mainRuns)
	}

	_, err := cofaas.UnaryCall(context.Background(), Greeter_SayHello_FullMethodName, decoder(t, wrapperspb.String("fail")))
	if st := status.Convert(err); st.Code() != codes.FailedPrecondition || st.Message() != "asked to fail" {
		t.Fatalf("error = %v", err)
	}
	serverTrace.take()

	_, err = cofaas.UnaryCall(context.Background(), Greeter_SayHello_FullMethodName, func(any) error {
		return status.Error(codes.Internal, "bad bytes")
	})
	if status.Code(err) != codes.Internal {
		t.Fatalf("decode error = %v", err)
	}
	if got := serverTrace.take(); len(got) != 0 {
		t.Fatalf("interceptors ran on a decode error: %v", got)
	}
}

func TestUnaryCallUnknown(t *testing.T) {
	for _, tc := range []struct{ method, msg string }{
		{"/test.Nope/SayHello", "unknown service test.Nope"},
		{"/test.Greeter/Nope", "unknown method Nope for service test.Greeter"},
		{"nomethod", `malformed method name: "nomethod"`},
	} {
		_, err := cofaas.UnaryCall(context.Background(), tc.method, func(any) error { return nil })
		if st := status.Convert(err); st.Code() != codes.Unimplemented || st.Message() != tc.msg {
			t.Errorf("UnaryCall(%q) error = %v, want Unimplemented %q", tc.method, err, tc.msg)
		}
	}
	// A streaming rpc is never called as a unary one (the glue calls
	// StartStream): if it were, the status says so.
	_, err := cofaas.UnaryCall(context.Background(), Greeter_Watch_FullMethodName, func(any) error { return nil })
	if st := status.Convert(err); st.Code() != codes.Internal || !strings.Contains(st.Message(), "streaming rpc") {
		t.Errorf("UnaryCall(Watch) error = %v", err)
	}
}

func expectPanic(t *testing.T, substr string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if s, _ := r.(string); !strings.Contains(s, substr) {
			t.Errorf("panic = %v, want one containing %q", r, substr)
		}
	}()
	f()
}

type notAGreeter struct{}

func TestRegisterService(t *testing.T) {
	s := grpc.NewServer()
	expectPanic(t, "does not satisfy", func() { s.RegisterService(&Greeter_ServiceDesc, notAGreeter{}) })
	RegisterGreeterServer(s, &greeter{})
	expectPanic(t, `duplicate service registration for "test.Greeter"`, func() { RegisterGreeterServer(s, &greeter{}) })
	expectPanic(t, "already set", func() {
		grpc.NewServer(grpc.UnaryInterceptor(serverInterceptor("a")), grpc.UnaryInterceptor(serverInterceptor("b")))
	})

	info := s.GetServiceInfo()
	gi, ok := info["test.Greeter"]
	if !ok || len(info) != 1 || gi.Metadata != "test.proto" || len(gi.Methods) != 2 {
		t.Fatalf("GetServiceInfo = %+v", info)
	}
	for _, m := range gi.Methods {
		if m != (grpc.MethodInfo{Name: "SayHello"}) && m != (grpc.MethodInfo{Name: "Watch", IsServerStream: true}) {
			t.Errorf("method info %+v", m)
		}
	}

	s.Stop()
	if err := s.Serve(nil); !errors.Is(err, grpc.ErrServerStopped) {
		t.Fatalf("Serve after Stop = %v", err)
	}

	// Once Serve has been entered (in another goroutine: it blocks),
	// RegisterService panics.
	s2 := grpc.NewServer()
	defer s2.Stop()
	go s2.Serve(nil)
	for i := 0; ; i++ {
		desc := Greeter_ServiceDesc
		desc.ServiceName = fmt.Sprintf("test.Late%d", i)
		var r any
		func() {
			defer func() { r = recover() }()
			s2.RegisterService(&desc, &greeter{})
		}()
		if r != nil {
			if s, _ := r.(string); !strings.Contains(s, "after Server.Serve") {
				t.Fatalf("panic = %v", r)
			}
			break
		}
		if i == 1000 {
			t.Fatal("RegisterService never panicked after Serve")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestServeBlocksUntilStop(t *testing.T) {
	desc := Greeter_ServiceDesc
	desc.ServiceName = "test.Stoppable"
	s := grpc.NewServer()
	s.RegisterService(&desc, &greeter{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 2)
	go func() { errc <- s.Serve(lis) }()
	go func() { errc <- s.Serve(nil) }()
	select {
	case err := <-errc:
		t.Fatalf("Serve returned %v before Stop", err)
	case <-time.After(100 * time.Millisecond):
	}

	// The handler runs (and fails: grpc.Method is not the greeter's).
	call := func() error {
		_, err := cofaas.UnaryCall(context.Background(), "/test.Stoppable/SayHello", decoder(t, wrapperspb.String("x")))
		return err
	}
	if err := call(); status.Code(err) != codes.Internal {
		t.Fatalf("rpc while serving = %v", err)
	}
	serverTrace.take()

	s.GracefulStop()
	for range 2 {
		select {
		case err := <-errc:
			if err != nil {
				t.Fatalf("Serve after GracefulStop returned %v, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Serve did not return after GracefulStop")
		}
	}
	if _, err := lis.Accept(); err == nil {
		t.Fatal("the listener is still open")
	}
	s.Stop()
	if err := s.Serve(nil); !errors.Is(err, grpc.ErrServerStopped) {
		t.Fatalf("Serve after Stop = %v", err)
	}
	if err := call(); status.Code(err) != codes.Unavailable {
		t.Fatalf("rpc after Stop = %v, want Unavailable", err)
	}

	s3 := grpc.NewServer()
	go func() { errc <- s3.Serve(nil) }()
	time.Sleep(10 * time.Millisecond)
	s3.Stop()
	if err := <-errc; err != nil {
		t.Fatalf("Serve after Stop returned %v, want nil", err)
	}
}

func TestSetHeaderOutsideRPC(t *testing.T) {
	if err := grpc.SetHeader(context.Background(), metadata.Pairs("a", "b")); status.Code(err) != codes.Internal {
		t.Fatalf("SetHeader outside an rpc = %v", err)
	}
	if _, ok := grpc.Method(context.Background()); ok {
		t.Fatal("Method outside an rpc")
	}
}

func TestUnaryCallMetadata(t *testing.T) {
	in := metadata.Pairs("x-in", "hi", "k-bin", string([]byte{0, 255}))
	resp, header, trailer, err := cofaas.UnaryCallMetadata(context.Background(), Greeter_SayHello_FullMethodName, in, decoder(t, wrapperspb.String("md")))
	if err != nil || resp.(*wrapperspb.StringValue).GetValue() != "hello md" {
		t.Fatalf("reply %v, err %v", resp, err)
	}
	wantHeader := metadata.Pairs("k", "v", "x-echo", "hi")
	if !reflect.DeepEqual(header, wantHeader) || !reflect.DeepEqual(trailer, metadata.Pairs("t", "1", "t", "2")) {
		t.Fatalf("header %v trailer %v", header, trailer)
	}
	// An error keeps the headers and trailers set before it.
	_, header, trailer, err = cofaas.UnaryCallMetadata(context.Background(), Greeter_SayHello_FullMethodName, nil, decoder(t, wrapperspb.String("fail")))
	if status.Code(err) != codes.FailedPrecondition || header.Get("k")[0] != "v" || len(trailer.Get("t")) != 2 {
		t.Fatalf("err %v header %v trailer %v", err, header, trailer)
	}
	serverTrace.take()
}

var clientTrace trace

func clientInterceptor(name string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		clientTrace.add(name + ":" + method)
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

const (
	echoMethod  = "/test.Echo/Echo"
	errorMethod = "/test.Echo/Fail"
	mdMethod    = "/test.Echo/Metadata"
)

func init() {
	cofaas.RegisterInvoker(echoMethod, func(ctx context.Context, req, reply any) error {
		clientTrace.add("invoker")
		proto.Reset(reply.(proto.Message))
		proto.Merge(reply.(proto.Message), req.(proto.Message))
		return nil
	})
	cofaas.RegisterInvoker(errorMethod, func(ctx context.Context, req, reply any) error {
		return cofaas.StatusFromWit(int32(codes.ResourceExhausted), "too much", nil)
	})
	// Answers with its outgoing metadata's "x-out" as a header, and a
	// trailer, as a callee would.
	cofaas.RegisterInvoker(mdMethod, func(ctx context.Context, req, reply any) error {
		out, _ := metadata.FromOutgoingContext(ctx)
		cofaas.SetCallResponse(ctx, metadata.Pairs("x-got", strings.Join(out.Get("x-out"), ",")), metadata.Pairs("x-t", "2"))
		return cofaas.StatusFromWit(int32(codes.Aborted), "with trailers", nil)
	})
}

func TestInvokeResponseMetadata(t *testing.T) {
	cc, err := grpc.NewClient("md:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-out", "a", "x-out", "b")
	var header, trailer metadata.MD
	err = cc.Invoke(ctx, mdMethod, wrapperspb.String("x"), new(wrapperspb.StringValue), grpc.Header(&header), grpc.Trailer(&trailer))
	if status.Code(err) != codes.Aborted {
		t.Fatalf("err = %v", err)
	}
	if !reflect.DeepEqual(header, metadata.Pairs("x-got", "a,b")) || !reflect.DeepEqual(trailer, metadata.Pairs("x-t", "2")) {
		t.Fatalf("header %v trailer %v", header, trailer)
	}
	// Without the options the response metadata goes nowhere.
	if err := cc.Invoke(ctx, mdMethod, wrapperspb.String("x"), new(wrapperspb.StringValue)); status.Code(err) != codes.Aborted {
		t.Fatalf("err = %v", err)
	}
}

func TestInvoke(t *testing.T) {
	if _, err := grpc.NewClient("consumer:50052"); err == nil || !strings.Contains(err.Error(), "no transport security set") {
		t.Fatalf("NewClient without credentials: %v", err)
	}
	cc, err := grpc.NewClient("consumer:50052",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(clientInterceptor("chain1"), clientInterceptor("chain2")),
		grpc.WithUnaryInterceptor(clientInterceptor("unary")),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<20)),
		grpc.WithUserAgent("test"))
	if err != nil {
		t.Fatal(err)
	}
	if cc.Target() != "consumer:50052" || cc.CanonicalTarget() != "dns:///consumer:50052" || cc.GetState() != connectivity.Idle {
		t.Fatalf("target %q %q state %v", cc.Target(), cc.CanonicalTarget(), cc.GetState())
	}
	if err := cc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cc.Close(); status.Code(err) != codes.Canceled {
		t.Fatalf("second Close = %v", err)
	}

	// The conn stays usable after Close.
	var header metadata.MD
	var finished []error
	reply := new(wrapperspb.StringValue)
	err = cc.Invoke(context.Background(), echoMethod, wrapperspb.String("ping"), reply,
		grpc.Header(&header), grpc.OnFinish(func(err error) { finished = append(finished, err) }))
	if err != nil || reply.GetValue() != "ping" {
		t.Fatalf("Invoke = %v, reply %v", err, reply)
	}
	want := []string{"unary:" + echoMethod, "chain1:" + echoMethod, "chain2:" + echoMethod, "invoker"}
	if got := clientTrace.take(); !reflect.DeepEqual(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
	if header == nil || len(finished) != 1 || finished[0] != nil {
		t.Fatalf("header %v finished %v", header, finished)
	}

	err = cc.Invoke(context.Background(), errorMethod, wrapperspb.String("x"), new(wrapperspb.StringValue))
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted || st.Message() != "too much" {
		t.Fatalf("error method: %v", err)
	}
	clientTrace.take()

	client := NewGreeterClient(cc)
	_, err = client.SayHello(context.Background(), wrapperspb.String("x"))
	if st := status.Convert(err); st.Code() != codes.Unimplemented || !strings.Contains(st.Message(), Greeter_SayHello_FullMethodName) ||
		!strings.Contains(st.Message(), "cofaas.toml") {
		t.Fatalf("unimported method: %v", err)
	}
	clientTrace.take()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := cc.Invoke(ctx, echoMethod, wrapperspb.String("x"), new(wrapperspb.StringValue)); status.Code(err) != codes.Canceled {
		t.Fatalf("canceled ctx: %v", err)
	}
	if got := clientTrace.take(); len(got) != 3 {
		t.Fatalf("interceptors on a canceled ctx: %v", got)
	}

	if _, err := client.Watch(context.Background(), wrapperspb.String("x")); status.Code(err) != codes.Unimplemented ||
		!strings.Contains(status.Convert(err).Message(), "cofaas.toml") {
		t.Fatalf("streaming call: %v", err)
	}
	var zero grpc.GenericClientStream[wrapperspb.StringValue, wrapperspb.StringValue]
	if _, err := zero.Recv(); status.Code(err) != codes.Internal {
		t.Fatalf("Recv on no stream: %v", err)
	}
}

func TestDial(t *testing.T) {
	cc, err := grpc.Dial("localhost:1", grpc.WithInsecure(), grpc.WithBlock())
	if err != nil {
		t.Fatal(err)
	}
	if cc.GetState() != connectivity.Ready {
		t.Fatalf("state after Dial = %v", cc.GetState())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if cc.WaitForStateChange(ctx, connectivity.Ready) {
		t.Fatal("WaitForStateChange reported a change")
	}
	if !cc.WaitForStateChange(context.Background(), connectivity.Idle) {
		t.Fatal("WaitForStateChange missed a change")
	}
	var iface grpc.ClientConnInterface = cc
	_ = iface
}
