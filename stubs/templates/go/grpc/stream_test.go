// This file is part of cofaas's stand-in for grpc-go: tests of streaming
// rpcs end to end inside one program, as in a component: a client's
// ClientStream (NewStream through protoc-gen-go-grpc 1.6's generic
// streams) reaches, through stream invokers written as the generated glue
// writes them, the stream handlers of a registered service run by
// cofaas.StartStream. Messages cross by proto.Merge, where the glue
// converts to and from WIT.

package grpc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/cofaas"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

type str = wrapperspb.StringValue

const (
	routeList   = "/test.Route/List"
	routeRecord = "/test.Route/Record"
	routeChat   = "/test.Route/Chat"
)

// routeServer is the service: List sends the numbers below its request
// ("3"), then fails if the request ends in "!" ("!" alone fails before
// any); Record joins what it receives (replying at once on "early",
// failing on "stop"); Chat greets first, then echoes
// each request, and sends "tick" on a "wait" request after a timer.
type routeServer struct {
	cancelled chan string
}

func (s *routeServer) List(req *str, stream grpc.ServerStreamingServer[str]) error {
	v := req.GetValue()
	if v == "!" {
		return status.Error(codes.InvalidArgument, "bad request")
	}
	md, _ := metadata.FromIncomingContext(stream.Context())
	if err := stream.SendHeader(metadata.Pairs("x-seen", strings.Join(md.Get("x-in"), ","))); err != nil {
		return err
	}
	n, _ := strconv.Atoi(strings.TrimSuffix(v, "!"))
	for i := 0; i < n; i++ {
		if err := stream.Send(wrapperspb.String(strconv.Itoa(i))); err != nil {
			s.cancelled <- fmt.Sprintf("after %d: %v", i, status.Code(err))
			return err
		}
	}
	stream.SetTrailer(metadata.Pairs("x-sent", strconv.Itoa(n)))
	if strings.HasSuffix(v, "!") {
		return status.Errorf(codes.ResourceExhausted, "after %d", n)
	}
	return nil
}

func (s *routeServer) Record(stream grpc.ClientStreamingServer[str, str]) error {
	var got []string
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(wrapperspb.String(strings.Join(got, "+")))
		}
		if err != nil {
			return err
		}
		if m.GetValue() == "stop" {
			return status.Error(codes.Aborted, "stopped")
		}
		if m.GetValue() == "early" {
			// A reply before the requests end: the caller's next Send
			// gives io.EOF, CloseAndRecv this reply.
			return stream.SendAndClose(wrapperspb.String(strings.Join(append(got, "early"), "+")))
		}
		got = append(got, m.GetValue())
	}
}

func (s *routeServer) Chat(stream grpc.BidiStreamingServer[str, str]) error {
	if err := stream.Send(wrapperspb.String("hello")); err != nil {
		return err
	}
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if m.GetValue() == "wait" {
			time.Sleep(time.Millisecond)
			if err := stream.Send(wrapperspb.String("tick")); err != nil {
				return err
			}
			continue
		}
		if err := stream.Send(wrapperspb.String("echo " + m.GetValue())); err != nil {
			return err
		}
	}
}

// The handlers and descriptor, as protoc-gen-go-grpc 1.6 writes them.
func _Route_List_Handler(srv any, stream grpc.ServerStream) error {
	m := new(str)
	if err := stream.RecvMsg(m); err != nil {
		return err
	}
	return srv.(*routeServer).List(m, &grpc.GenericServerStream[str, str]{ServerStream: stream})
}

func _Route_Record_Handler(srv any, stream grpc.ServerStream) error {
	return srv.(*routeServer).Record(&grpc.GenericServerStream[str, str]{ServerStream: stream})
}

func _Route_Chat_Handler(srv any, stream grpc.ServerStream) error {
	return srv.(*routeServer).Chat(&grpc.GenericServerStream[str, str]{ServerStream: stream})
}

var routeDesc = grpc.ServiceDesc{
	ServiceName: "test.Route",
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{
		{StreamName: "List", Handler: _Route_List_Handler, ServerStreams: true},
		{StreamName: "Record", Handler: _Route_Record_Handler, ClientStreams: true},
		{StreamName: "Chat", Handler: _Route_Chat_Handler, ServerStreams: true, ClientStreams: true},
	},
	Metadata: "route.proto",
}

func merge(dst, src any) error {
	if src == nil {
		return errors.New("nil message")
	}
	proto.Merge(dst.(proto.Message), src.(proto.Message))
	return nil
}

// served starts method's handler as an export of the glue does.
func served(ctx context.Context, method string, request func(any) error) *cofaas.ServerCall {
	md, _ := metadata.FromOutgoingContext(ctx)
	sctx, cancel := context.WithCancel(context.Background())
	return cofaas.StartStream(sctx, cancel, method, md.Copy(), request)
}

// setUpRoute registers the service (on a Server of its own, made after
// Init: main is the test's fakeMain) and the invokers.
func setUpRoute() {
	cofaas.Init()
	s := grpc.NewServer(grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if m, ok := grpc.MethodFromServerStream(ss); !ok || m != info.FullMethod {
			return status.Errorf(codes.Internal, "method %q %v, info %q", m, ok, info.FullMethod)
		}
		return handler(srv, ss)
	}))
	s.RegisterService(&routeDesc, &routeServer{cancelled: routeCancelled})
	// The invokers, written as the glue of an imported service is: each
	// WIT call of the glue is a call of the ServerCall here.
	cofaas.RegisterStreamInvoker(routeList, func(ctx context.Context, call *cofaas.ClientCall, req any) error {
		r := proto.Clone(req.(proto.Message))
		sc := served(ctx, routeList, func(m any) error { return merge(m, r) })
		err := sc.Opened()
		call.Header = sc.Response.Header
		if err != nil {
			call.Trailer = sc.Response.Trailer
			return err
		}
		call.Next = func(m any) (bool, error) {
			msg, ok := sc.Next()
			if !ok {
				call.Trailer = sc.Response.Trailer
				return false, sc.Err()
			}
			return true, merge(m, msg)
		}
		call.Drop = sc.Cancel
		return nil
	})
	cofaas.RegisterStreamInvoker(routeRecord, func(ctx context.Context, call *cofaas.ClientCall, _ any) error {
		sc := served(ctx, routeRecord, nil)
		call.Send = func(m any) (bool, error) {
			c := proto.Clone(m.(proto.Message))
			return sc.Push(func(dst any) error { return merge(dst, c) }, true), nil
		}
		call.Finish = func(m any) error {
			reply, err := sc.Finish()
			call.Header, call.Trailer = sc.Response.Header, sc.Response.Trailer
			if err != nil {
				return err
			}
			return merge(m, reply)
		}
		call.Drop = sc.Cancel
		return nil
	})
	cofaas.RegisterStreamInvoker(routeChat, func(ctx context.Context, call *cofaas.ClientCall, _ any) error {
		sc := served(ctx, routeChat, nil)
		call.Send = func(m any) (bool, error) {
			c := proto.Clone(m.(proto.Message))
			return sc.Push(func(dst any) error { return merge(dst, c) }, false), nil
		}
		call.CloseSend = sc.CloseSend
		call.Poll = func(m any) (cofaas.PollState, error) {
			msg, st := sc.Poll()
			switch st {
			case cofaas.PollMessage:
				return st, merge(m, msg)
			case cofaas.PollEnd:
				call.Trailer = sc.Response.Trailer
				return st, sc.Err()
			}
			return st, nil
		}
		call.Drop = sc.Cancel
		return nil
	})
}

var routeCancelled = make(chan string, 4)

func routeConn(t *testing.T) *grpc.ClientConn {
	t.Helper()
	routeOnce.Do(setUpRoute)
	cc, err := grpc.NewClient("route:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

var routeOnce sync.Once

// single runs f with one thread, as under wasip1.
func single(t *testing.T) {
	prev := runtime.GOMAXPROCS(1)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
}

func list(t *testing.T, cc *grpc.ClientConn, ctx context.Context, req string, opts ...grpc.CallOption) ([]string, error, grpc.ServerStreamingClient[str]) {
	t.Helper()
	desc := &routeDesc.Streams[0]
	cs, err := cc.NewStream(ctx, desc, routeList, opts...)
	if err != nil {
		t.Fatalf("NewStream: %v", err)
	}
	x := &grpc.GenericClientStream[str, str]{ClientStream: cs}
	if err := x.ClientStream.SendMsg(wrapperspb.String(req)); err != nil {
		t.Fatalf("SendMsg: %v", err)
	}
	if err := x.ClientStream.CloseSend(); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	var got []string
	for {
		m, err := x.Recv()
		if err != nil {
			return got, err, x
		}
		got = append(got, m.GetValue())
	}
}

func TestServerStreaming(t *testing.T) {
	single(t)
	cc := routeConn(t)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-in", "a")
	var header, trailer metadata.MD
	got, err, x := list(t, cc, ctx, "3", grpc.Header(&header), grpc.Trailer(&trailer))
	if err != io.EOF || strings.Join(got, ",") != "0,1,2" {
		t.Fatalf("List(3) = %v, %v", got, err)
	}
	if h, _ := x.Header(); strings.Join(h.Get("x-seen"), ",") != "a" || strings.Join(header.Get("x-seen"), ",") != "a" {
		t.Fatalf("headers %v, option %v", h, header)
	}
	if tr := x.Trailer(); strings.Join(tr.Get("x-sent"), ",") != "3" || strings.Join(trailer.Get("x-sent"), ",") != "3" {
		t.Fatalf("trailers %v, option %v", tr, trailer)
	}
	if _, err := x.Recv(); err != io.EOF {
		t.Fatalf("Recv after the end = %v", err)
	}

	// A status after some messages, before any, and an empty stream.
	got, err, x = list(t, cc, context.Background(), "2!")
	if st := status.Convert(err); strings.Join(got, ",") != "0,1" || st.Code() != codes.ResourceExhausted || st.Message() != "after 2" {
		t.Fatalf("List(2!) = %v, %v", got, err)
	}
	if tr := x.Trailer(); strings.Join(tr.Get("x-sent"), ",") != "2" {
		t.Fatalf("trailers of an error %v", tr)
	}
	got, err, _ = list(t, cc, context.Background(), "!")
	if st := status.Convert(err); len(got) != 0 || st.Code() != codes.InvalidArgument || st.Message() != "bad request" {
		t.Fatalf("List(!) = %v, %v", got, err)
	}
	got, err, _ = list(t, cc, context.Background(), "0")
	if len(got) != 0 || err != io.EOF {
		t.Fatalf("List(0) = %v, %v", got, err)
	}
}

func TestServerStreamCancel(t *testing.T) {
	single(t)
	cc := routeConn(t)
	ctx, cancel := context.WithCancel(context.Background())
	cs, err := cc.NewStream(ctx, &routeDesc.Streams[0], routeList)
	if err != nil {
		t.Fatal(err)
	}
	x := &grpc.GenericClientStream[str, str]{ClientStream: cs}
	if err := x.SendMsg(wrapperspb.String("1000000")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if _, err := x.Recv(); err != nil {
			t.Fatalf("Recv %d: %v", i, err)
		}
	}
	cancel()
	select {
	case got := <-routeCancelled:
		// The tenth Send returns only when the client asks for more (the
		// handler is never ahead of it): canceled instead.
		if got != "after 9: Canceled" {
			t.Fatalf("the handler saw %q", got)
		}
	case <-time.After(time.Second):
		t.Fatal("the handler did not see the cancellation")
	}
	if _, err := x.Recv(); status.Code(err) != codes.Canceled {
		t.Fatalf("Recv after cancel = %v", err)
	}
}

func TestClientStreaming(t *testing.T) {
	single(t)
	cc := routeConn(t)
	record := func(values ...string) (string, error) {
		cs, err := cc.NewStream(context.Background(), &routeDesc.Streams[1], routeRecord)
		if err != nil {
			t.Fatal(err)
		}
		x := &grpc.GenericClientStream[str, str]{ClientStream: cs}
		for _, v := range values {
			if err := x.Send(wrapperspb.String(v)); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("Send: %v", err)
			}
		}
		r, err := x.CloseAndRecv()
		return r.GetValue(), err
	}
	if r, err := record("a", "b", "c"); r != "a+b+c" || err != nil {
		t.Fatalf("Record = %q, %v", r, err)
	}
	if r, err := record(); r != "" || err != nil {
		t.Fatalf("Record() = %q, %v", r, err)
	}
	if r, err := record("a", "early", "c", "d"); r != "a+early" || err != nil {
		t.Fatalf("Record(early) = %q, %v", r, err)
	}
	if _, err := record("a", "stop", "c", "d"); status.Code(err) != codes.Aborted {
		t.Fatalf("Record(stop) = %v", err)
	}
}

func TestBidiStreaming(t *testing.T) {
	single(t)
	cc := routeConn(t)
	cs, err := cc.NewStream(context.Background(), &routeDesc.Streams[2], routeChat)
	if err != nil {
		t.Fatal(err)
	}
	x := &grpc.GenericClientStream[str, str]{ClientStream: cs}
	// The server speaks first, while the client is idle.
	if m, err := x.Recv(); err != nil || m.GetValue() != "hello" {
		t.Fatalf("first Recv = %v, %v", m, err)
	}
	// In lockstep, and across a handler's timer.
	for _, v := range []string{"a", "wait", "b"} {
		if err := x.Send(wrapperspb.String(v)); err != nil {
			t.Fatal(err)
		}
		want := "echo " + v
		if v == "wait" {
			want = "tick"
		}
		if m, err := x.Recv(); err != nil || m.GetValue() != want {
			t.Fatalf("Recv after %q = %v, %v", v, m, err)
		}
	}
	// Requests from another goroutine while this one receives.
	go func() {
		for i := 0; i < 100; i++ {
			if err := x.Send(wrapperspb.String(strconv.Itoa(i))); err != nil {
				return
			}
		}
		x.CloseSend()
	}()
	for i := 0; i < 100; i++ {
		if m, err := x.Recv(); err != nil || m.GetValue() != "echo "+strconv.Itoa(i) {
			t.Fatalf("Recv %d = %v, %v", i, m, err)
		}
	}
	if _, err := x.Recv(); err != io.EOF {
		t.Fatalf("end = %v", err)
	}
}
