// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// It implements the server side: Server, the service descriptors that
// protoc-gen-go-grpc's code fills in, RegisterService (with grpc-go's checks,
// which panic here instead of calling log.Fatal), Serve, Stop, GracefulStop,
// GetServiceInfo and the ServerOptions. No socket is ever opened and nothing
// is accepted: the rpcs of the registered services arrive through
// cofaas.UnaryCall, whether or not Serve was called. Serve blocks, as in
// grpc-go, until Stop or GracefulStop; entering it is what tells
// cofaas.Init that main is serving. Left out: ServeHTTP (it would link
// net/http into every function), StatsHandler, InTapHandle,
// ForceServerCodec(V2), RPCCompressor and RPCDecompressor. Message size
// limits are recorded and not enforced.
package grpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/internal/cofaasrt"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// ErrServerStopped indicates that the operation is now illegal because of
// the server being stopped.
var ErrServerStopped = errors.New("grpc: the server has been stopped")

// MethodHandler is a function type that processes a unary RPC method call.
type MethodHandler func(srv any, ctx context.Context, dec func(any) error, interceptor UnaryServerInterceptor) (any, error)

// MethodDesc represents an RPC service's method specification.
type MethodDesc struct {
	MethodName string
	Handler    MethodHandler
}

// StreamHandler defines the handler called by gRPC server to complete the
// execution of a streaming RPC.
type StreamHandler func(srv any, stream ServerStream) error

// StreamDesc represents a streaming RPC service's method specification.
type StreamDesc struct {
	StreamName string        // the name of the method excluding the service
	Handler    StreamHandler // the handler called for the method

	ServerStreams bool // indicates the server can perform streaming sends
	ClientStreams bool // indicates the client can perform streaming sends
}

// ServiceDesc represents an RPC service's specification.
type ServiceDesc struct {
	ServiceName string
	// The pointer to the service interface. Used to check whether the user
	// provided implementation satisfies the interface requirements.
	HandlerType any
	Methods     []MethodDesc
	Streams     []StreamDesc
	Metadata    any
}

// MethodInfo contains the information of an RPC including its method name
// and type.
type MethodInfo struct {
	// Name is the method name only, without the service name or package
	// name.
	Name string
	// IsClientStream indicates whether the RPC is a client streaming RPC.
	IsClientStream bool
	// IsServerStream indicates whether the RPC is a server streaming RPC.
	IsServerStream bool
}

// ServiceInfo contains unary RPC method info, streaming RPC method info and
// metadata for a service.
type ServiceInfo struct {
	Methods []MethodInfo
	// Metadata is the metadata specified in ServiceDesc when registering
	// service.
	Metadata any
}

// ServiceRegistrar wraps a single method that supports service
// registration. It enables users to pass concrete types other than
// grpc.Server to the service registration methods exported by the IDL
// generated code.
type ServiceRegistrar interface {
	RegisterService(desc *ServiceDesc, impl any)
}

// service is one registered service.
type service struct {
	impl    any
	methods map[string]*MethodDesc
	streams map[string]*StreamDesc
	mdata   any
}

// Server is a gRPC server to serve RPC requests. In cofaas it holds the
// registered services and the interceptors.
type Server struct {
	opts     serverOptions
	services map[string]*service   // guarded by registry
	serving  bool                  // Serve has been entered; guarded by registry
	stopped  bool                  // guarded by registry
	lis      map[net.Listener]bool // listeners of running Serves; guarded by registry
	quit     chan struct{}         // closed by Stop: running Serves return
	stopOnce sync.Once
}

var (
	// registry guards the list of servers and every Server's mutable
	// fields.
	registry sync.RWMutex
	// servers are all Servers created, in order of creation.
	servers []*Server
)

func init() {
	cofaasrt.ServeUnary = serveUnary
	cofaasrt.ServeStream = serveStream
	cofaasrt.ServeState = serveState
}

// NewServer creates a gRPC server which has no service registered and has
// not started to accept requests yet.
func NewServer(opt ...ServerOption) *Server {
	s := &Server{services: map[string]*service{}, lis: map[net.Listener]bool{}, quit: make(chan struct{})}
	for _, o := range opt {
		o.apply(&s.opts)
	}
	s.opts.unaryInt = chainUnaryServerInterceptors(s.opts.unaryInt, s.opts.chainUnaryInts)
	s.opts.streamInt = chainStreamServerInterceptors(s.opts.streamInt, s.opts.chainStreamInts)
	registry.Lock()
	servers = append(servers, s)
	registry.Unlock()
	return s
}

// RegisterService registers a service and its implementation to the gRPC
// server. It is called from the IDL generated code. This must be called
// before invoking Serve. If ss is non-nil (for legacy code), its type is
// checked to ensure it implements sd.HandlerType.
func (s *Server) RegisterService(sd *ServiceDesc, ss any) {
	if ss != nil {
		ht := reflect.TypeOf(sd.HandlerType).Elem()
		st := reflect.TypeOf(ss)
		if !st.Implements(ht) {
			panic(fmt.Sprintf("grpc: Server.RegisterService found the handler of type %v that does not satisfy %v", st, ht))
		}
	}
	registry.Lock()
	defer registry.Unlock()
	if s.serving {
		panic(fmt.Sprintf("grpc: Server.RegisterService after Server.Serve for %q", sd.ServiceName))
	}
	if _, dup := s.services[sd.ServiceName]; dup {
		panic(fmt.Sprintf("grpc: Server.RegisterService found duplicate service registration for %q", sd.ServiceName))
	}
	svc := &service{
		impl:    ss,
		methods: make(map[string]*MethodDesc, len(sd.Methods)),
		streams: make(map[string]*StreamDesc, len(sd.Streams)),
		mdata:   sd.Metadata,
	}
	for i := range sd.Methods {
		d := &sd.Methods[i]
		svc.methods[d.MethodName] = d
	}
	for i := range sd.Streams {
		d := &sd.Streams[i]
		svc.streams[d.StreamName] = d
	}
	s.services[sd.ServiceName] = svc
}

// GetServiceInfo returns a map from service names to ServiceInfo.
func (s *Server) GetServiceInfo() map[string]ServiceInfo {
	registry.RLock()
	defer registry.RUnlock()
	ret := make(map[string]ServiceInfo, len(s.services))
	for name, svc := range s.services {
		methods := make([]MethodInfo, 0, len(svc.methods)+len(svc.streams))
		for m := range svc.methods {
			methods = append(methods, MethodInfo{Name: m})
		}
		for m, d := range svc.streams {
			methods = append(methods, MethodInfo{Name: m, IsClientStream: d.ClientStreams, IsServerStream: d.ServerStreams})
		}
		ret[name] = ServiceInfo{Methods: methods, Metadata: svc.mdata}
	}
	return ret
}

// Serve serves s until Stop or GracefulStop, and then returns nil, as
// grpc-go's Serve does; after Stop it returns ErrServerStopped at once. It
// accepts nothing on lis (in cofaas the rpcs of the registered services
// arrive through cofaas.UnaryCall) and closes it when it returns, as
// grpc-go does. Entering Serve is what cofaas.Init waits for (see package
// cofaas). Serve may be called several times, with several listeners; lis
// may be nil.
func (s *Server) Serve(lis net.Listener) error {
	registry.Lock()
	if s.stopped {
		registry.Unlock()
		if lis != nil {
			lis.Close()
		}
		return ErrServerStopped
	}
	s.serving = true
	if lis != nil {
		s.lis[lis] = true
	}
	registry.Unlock()
	// Nothing is held while serving: rpcs are served (from other export
	// calls) while main's goroutine is parked here.
	<-s.quit
	return nil
}

// Stop stops s: it closes the listeners of running Serves, which then
// return nil, and a later Serve returns ErrServerStopped. The services
// registered on s become unreachable: an rpc of one that no other
// (unstopped) Server registered gets codes.Unavailable, as a client of a
// stopped grpc-go server does.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		registry.Lock()
		s.stopped = true
		lis := s.lis
		s.lis = nil
		registry.Unlock()
		for l := range lis {
			l.Close()
		}
		close(s.quit)
	})
}

// GracefulStop is Stop: there are no connections to drain (an rpc runs
// within one export call of the component, so none is pending when
// GracefulStop runs outside an rpc).
func (s *Server) GracefulStop() { s.Stop() }

// serveState reports, for cofaas.Init, whether main is serving: some
// Server has entered Serve, and every Server with a registered service has
// entered Serve or been stopped. registered reports whether any Server has
// a registered service.
func serveState() (ready, registered bool) {
	registry.RLock()
	defer registry.RUnlock()
	serving, waiting := false, false
	for _, s := range servers {
		if len(s.services) > 0 {
			registered = true
		}
		switch {
		case s.serving:
			serving = true
		case len(s.services) > 0 && !s.stopped:
			waiting = true
		}
	}
	return serving && !waiting, registered
}

// lookup finds the first Server (in order of creation) that registered
// the service of fullMethod and is not stopped: the server, the service,
// the service's and the method's names, and fullMethod with its leading
// "/". The error is the
// status grpc-go's server gives an unknown service (Unimplemented), a
// malformed name, or a service registered only on stopped Servers
// (Unavailable).
func lookup(fullMethod string) (srv *Server, svc *service, serviceName, methodName, method string, err error) {
	sm := strings.TrimPrefix(fullMethod, "/")
	pos := strings.LastIndex(sm, "/")
	if pos == -1 {
		return nil, nil, "", "", "", status.Errorf(codes.Unimplemented, "malformed method name: %q", fullMethod)
	}
	serviceName, methodName = sm[:pos], sm[pos+1:]
	stopped := false
	registry.RLock()
	defer registry.RUnlock()
	for _, s := range servers {
		if d := s.services[serviceName]; d != nil {
			if s.stopped {
				stopped = true
				continue
			}
			return s, d, serviceName, methodName, "/" + sm, nil
		}
	}
	if stopped {
		return nil, nil, "", "", "", status.Error(codes.Unavailable, ErrServerStopped.Error())
	}
	return nil, nil, "", "", "", status.Errorf(codes.Unimplemented, "unknown service %v", serviceName)
}

// serveContext is ctx (Background if nil) with incoming metadata md (empty
// unless given or already there) and the rpc's transport stream.
func serveContext(ctx context.Context, method string, incoming metadata.MD, out *cofaasrt.ResponseMD) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	if incoming != nil {
		ctx = metadata.NewIncomingContext(ctx, incoming)
	} else if _, ok := metadata.FromIncomingContext(ctx); !ok {
		ctx = metadata.NewIncomingContext(ctx, metadata.MD{})
	}
	return NewContextWithServerTransportStream(ctx, &serverTransportStream{method: method, out: out})
}

// serveUnary serves one unary rpc on the first Server (in order of
// creation) that registered the rpc's service and is not stopped.
func serveUnary(ctx context.Context, fullMethod string, incoming metadata.MD, dec func(any) error, out *cofaasrt.ResponseMD) (any, error) {
	srv, svc, serviceName, methodName, method, err := lookup(fullMethod)
	if err != nil {
		return nil, err
	}
	md, ok := svc.methods[methodName]
	if !ok {
		if _, ok := svc.streams[methodName]; ok {
			return nil, status.Errorf(codes.Internal, "cofaas: %s is a streaming rpc, called as a unary one", method)
		}
		return nil, status.Errorf(codes.Unimplemented, "unknown method %v for service %v", methodName, serviceName)
	}
	ctx = serveContext(ctx, method, incoming, out)
	reply, err := md.Handler(svc.impl, ctx, dec, srv.opts.unaryInt)
	// Client streams the handler canceled are dropped before it returns.
	cofaasrt.Settle()
	return reply, err
}

// serveStream runs the stream handler of call's rpc on the first Server
// that registered its service, through the server's stream interceptors,
// as grpc-go's server does; it returns what the handler returned.
func serveStream(call *cofaasrt.ServerCall, incoming metadata.MD) error {
	srv, svc, serviceName, methodName, method, err := lookup(call.Method())
	if err != nil {
		return err
	}
	sd, ok := svc.streams[methodName]
	if !ok {
		if _, ok := svc.methods[methodName]; ok {
			return status.Errorf(codes.Internal, "cofaas: %s is a unary rpc, called as a streaming one", method)
		}
		return status.Errorf(codes.Unimplemented, "unknown method %v for service %v", methodName, serviceName)
	}
	if !sd.ServerStreams {
		call.OneReply()
	}
	ss := &serverStream{call: call, ctx: serveContext(call.Context(), method, incoming, &call.Response)}
	if srv.opts.streamInt != nil {
		info := &StreamServerInfo{FullMethod: method, IsClientStream: sd.ClientStreams, IsServerStream: sd.ServerStreams}
		return srv.opts.streamInt(svc.impl, ss, info, sd.Handler)
	}
	return sd.Handler(svc.impl, ss)
}

// serverTransportStream is the ServerTransportStream of a served rpc.
// Headers and trailers set on it go to out, which the component's export
// hands to the caller with the reply (or error).
type serverTransportStream struct {
	method string
	out    *cofaasrt.ResponseMD
	sent   bool
}

func (s *serverTransportStream) Method() string { return s.method }

// SetHeader adds md to the response headers; after SendHeader it fails, as
// in grpc-go.
func (s *serverTransportStream) SetHeader(md metadata.MD) error {
	if s.sent {
		return status.Error(codes.Internal, "transport: the stream is done or WriteHeader was already called")
	}
	if s.out != nil {
		s.out.Header = metadata.Join(s.out.Header, md)
	}
	return nil
}

// SendHeader adds md to the response headers and closes them.
func (s *serverTransportStream) SendHeader(md metadata.MD) error {
	if err := s.SetHeader(md); err != nil {
		return err
	}
	s.sent = true
	return nil
}

// SetTrailer adds md to the response trailers.
func (s *serverTransportStream) SetTrailer(md metadata.MD) error {
	if s.out != nil {
		s.out.Trailer = metadata.Join(s.out.Trailer, md)
	}
	return nil
}

// A ServerOption sets options such as credentials, codec and keepalive
// parameters, etc.
type ServerOption interface {
	apply(*serverOptions)
}

type serverOptions struct {
	creds             credentials.TransportCredentials
	codec             Codec
	unaryInt          UnaryServerInterceptor
	streamInt         StreamServerInterceptor
	chainUnaryInts    []UnaryServerInterceptor
	chainStreamInts   []StreamServerInterceptor
	unknownStreamDesc *StreamDesc
	maxRecvMsgSize    int
	maxSendMsgSize    int
	maxStreams        uint32
	connectionTimeout time.Duration
	keepalive         keepalive.ServerParameters
	keepalivePolicy   keepalive.EnforcementPolicy
}

// EmptyServerOption does not alter the server configuration. It can be
// embedded in another structure to build custom server options.
type EmptyServerOption struct{}

func (EmptyServerOption) apply(*serverOptions) {}

type funcServerOption func(*serverOptions)

func (f funcServerOption) apply(o *serverOptions) { f(o) }

// MaxHeaderListSizeServerOption is a ServerOption that sets the max
// (uncompressed) size of header list that the server is prepared to accept.
type MaxHeaderListSizeServerOption struct {
	MaxHeaderListSize uint32
}

func (MaxHeaderListSizeServerOption) apply(*serverOptions) {}

var ignoredServerOption = EmptyServerOption{}

// WriteBufferSize is accepted and ignored.
func WriteBufferSize(s int) ServerOption { return ignoredServerOption }

// ReadBufferSize is accepted and ignored.
func ReadBufferSize(s int) ServerOption { return ignoredServerOption }

// SharedWriteBuffer is accepted and ignored.
func SharedWriteBuffer(val bool) ServerOption { return ignoredServerOption }

// InitialWindowSize is accepted and ignored.
func InitialWindowSize(s int32) ServerOption { return ignoredServerOption }

// InitialConnWindowSize is accepted and ignored.
func InitialConnWindowSize(s int32) ServerOption { return ignoredServerOption }

// StaticStreamWindowSize is accepted and ignored.
func StaticStreamWindowSize(s int32) ServerOption { return ignoredServerOption }

// StaticConnWindowSize is accepted and ignored.
func StaticConnWindowSize(s int32) ServerOption { return ignoredServerOption }

// HeaderTableSize is accepted and ignored.
func HeaderTableSize(s uint32) ServerOption { return ignoredServerOption }

// MaxHeaderListSize is accepted and ignored.
func MaxHeaderListSize(s uint32) ServerOption {
	return MaxHeaderListSizeServerOption{MaxHeaderListSize: s}
}

// NumStreamWorkers is accepted and ignored.
func NumStreamWorkers(numServerWorkers uint32) ServerOption { return ignoredServerOption }

// WaitForHandlers is accepted and ignored.
func WaitForHandlers(w bool) ServerOption { return ignoredServerOption }

// KeepaliveParams records the keepalive parameters (unused in cofaas).
func KeepaliveParams(kp keepalive.ServerParameters) ServerOption {
	return funcServerOption(func(o *serverOptions) { o.keepalive = kp })
}

// KeepaliveEnforcementPolicy records the keepalive enforcement policy
// (unused in cofaas).
func KeepaliveEnforcementPolicy(kep keepalive.EnforcementPolicy) ServerOption {
	return funcServerOption(func(o *serverOptions) { o.keepalivePolicy = kep })
}

// CustomCodec records a codec (unused in cofaas: messages cross component
// boundaries as protobuf).
//
// Deprecated: register codecs using encoding.RegisterCodec.
func CustomCodec(codec Codec) ServerOption {
	return funcServerOption(func(o *serverOptions) { o.codec = codec })
}

// MaxMsgSize is MaxRecvMsgSize.
//
// Deprecated: use MaxRecvMsgSize instead.
func MaxMsgSize(m int) ServerOption { return MaxRecvMsgSize(m) }

// MaxRecvMsgSize records the max message size the server can receive (not
// enforced in cofaas).
func MaxRecvMsgSize(m int) ServerOption {
	return funcServerOption(func(o *serverOptions) { o.maxRecvMsgSize = m })
}

// MaxSendMsgSize records the max message size the server can send (not
// enforced in cofaas).
func MaxSendMsgSize(m int) ServerOption {
	return funcServerOption(func(o *serverOptions) { o.maxSendMsgSize = m })
}

// MaxConcurrentStreams records a limit on the number of concurrent streams
// (unused in cofaas).
func MaxConcurrentStreams(n uint32) ServerOption {
	return funcServerOption(func(o *serverOptions) { o.maxStreams = n })
}

// Creds records the credentials for server connections (unused in
// cofaas).
func Creds(c credentials.TransportCredentials) ServerOption {
	return funcServerOption(func(o *serverOptions) { o.creds = c })
}

// UnaryInterceptor returns a ServerOption that sets the
// UnaryServerInterceptor for the server. Only one unary interceptor can be
// installed; use ChainUnaryInterceptor for more.
func UnaryInterceptor(i UnaryServerInterceptor) ServerOption {
	return funcServerOption(func(o *serverOptions) {
		if o.unaryInt != nil {
			panic("The unary server interceptor was already set and may not be reset.")
		}
		o.unaryInt = i
	})
}

// ChainUnaryInterceptor returns a ServerOption that specifies the chained
// interceptor for unary RPCs. The first interceptor will be the outer most,
// while the last interceptor will be the inner most wrapper around the real
// call. An interceptor set by UnaryInterceptor runs before all of them.
func ChainUnaryInterceptor(interceptors ...UnaryServerInterceptor) ServerOption {
	return funcServerOption(func(o *serverOptions) {
		o.chainUnaryInts = append(o.chainUnaryInts, interceptors...)
	})
}

// StreamInterceptor returns a ServerOption that sets the
// StreamServerInterceptor for the server.
func StreamInterceptor(i StreamServerInterceptor) ServerOption {
	return funcServerOption(func(o *serverOptions) {
		if o.streamInt != nil {
			panic("The stream server interceptor was already set and may not be reset.")
		}
		o.streamInt = i
	})
}

// ChainStreamInterceptor returns a ServerOption that specifies the chained
// interceptor for streaming RPCs.
func ChainStreamInterceptor(interceptors ...StreamServerInterceptor) ServerOption {
	return funcServerOption(func(o *serverOptions) {
		o.chainStreamInts = append(o.chainStreamInts, interceptors...)
	})
}

// ConnectionTimeout records the timeout for connection establishment
// (unused in cofaas).
func ConnectionTimeout(d time.Duration) ServerOption {
	return funcServerOption(func(o *serverOptions) { o.connectionTimeout = d })
}

// UnknownServiceHandler records a handler for unknown services (never run
// in cofaas: an rpc of an unknown service gets codes.Unimplemented).
func UnknownServiceHandler(streamHandler StreamHandler) ServerOption {
	return funcServerOption(func(o *serverOptions) {
		o.unknownStreamDesc = &StreamDesc{
			StreamName:    "unknown_service_handler",
			Handler:       streamHandler,
			ClientStreams: true,
			ServerStreams: true,
		}
	})
}
