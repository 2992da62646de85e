// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// It implements the client side: ClientConn, NewClient, Dial and DialContext
// (with grpc-go's checks on transport credentials), Invoke and the
// DialOptions. No connection is made: Invoke runs the conn's unary
// interceptors and then the invoker that cofaas's generated glue registered
// for the method (cofaas.RegisterInvoker); a method without one gets
// codes.Unimplemented. Close only marks the conn closed (GetState reports
// Shutdown) and the conn stays usable, since mains commonly
// `defer conn.Close()` and return while the function keeps serving.
// NewStream goes, after the conn's stream interceptors, to the stream
// invoker the glue registered (see stream.go). Left out: WithChannelzParentID,
// WithCompressor, WithDecompressor, WithResolvers, WithStatsHandler and
// GetMethodConfig (they need packages cofaas does not provide).
package grpc

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/internal/cofaasrt"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

var (
	// ErrClientConnClosing indicates that the operation is illegal because
	// the ClientConn is closing.
	//
	// Deprecated: this error should not be relied upon by users; use the
	// status code of Canceled instead.
	ErrClientConnClosing = status.Error(codes.Canceled, "grpc: the client connection is closing")
	// ErrClientConnTimeout indicates that the ClientConn cannot establish
	// the underlying connections within the specified timeout.
	//
	// Deprecated: This error is never returned by grpc and should not be
	// referenced by users.
	ErrClientConnTimeout = errors.New("grpc: timed out when dialing")

	errNoTransportSecurity         = errors.New("grpc: no transport security set (use grpc.WithTransportCredentials(insecure.NewCredentials()) explicitly or set credentials)")
	errTransportCredsAndBundle     = errors.New("grpc: credentials.Bundle may not be used with individual TransportCredentials")
	errNoTransportCredsInBundle    = errors.New("grpc: credentials.Bundle must return non-nil transport credentials")
	errTransportCredentialsMissing = errors.New("grpc: the credentials require transport level security (use grpc.WithTransportCredentials() to set)")
)

// ClientConnInterface defines the functions clients need to perform unary
// and streaming RPCs. It is implemented by *ClientConn, and is only
// intended to be referenced by generated code.
type ClientConnInterface interface {
	// Invoke performs a unary RPC and returns after the response is
	// received into reply.
	Invoke(ctx context.Context, method string, args any, reply any, opts ...CallOption) error
	// NewStream begins a streaming RPC.
	NewStream(ctx context.Context, desc *StreamDesc, method string, opts ...CallOption) (ClientStream, error)
}

// Assert *ClientConn implements ClientConnInterface.
var _ ClientConnInterface = (*ClientConn)(nil)

// ClientConn represents a virtual connection to a conceptual endpoint, to
// perform RPCs. In cofaas it routes unary rpcs to the invokers registered
// by the generated glue.
type ClientConn struct {
	target string
	dopts  dialOptions

	mu       sync.Mutex
	state    connectivity.State
	changed  chan struct{} // closed and replaced on every state change
	isClosed bool
}

// NewClient creates a new gRPC "channel" for the target URI provided. No
// connection is made; the target only names the conn.
func NewClient(target string, opts ...DialOption) (conn *ClientConn, err error) {
	cc := &ClientConn{target: target, state: connectivity.Idle, changed: make(chan struct{})}
	for _, o := range opts {
		o.apply(&cc.dopts)
	}
	if err := cc.dopts.validateTransportCredentials(); err != nil {
		return nil, err
	}
	cc.dopts.unaryInt = chainUnaryClientInterceptors(cc.dopts.unaryInt, cc.dopts.chainUnaryInts)
	cc.dopts.streamInt = chainStreamClientInterceptors(cc.dopts.streamInt, cc.dopts.chainStreamInts)
	return cc, nil
}

// Dial calls DialContext(context.Background(), target, opts...).
//
// Deprecated: use NewClient instead. Will be supported throughout 1.x.
func Dial(target string, opts ...DialOption) (*ClientConn, error) {
	return DialContext(context.Background(), target, opts...)
}

// DialContext is NewClient, followed (as in grpc-go) by leaving the idle
// state: the conn is Ready at once, so WithBlock never blocks.
//
// Deprecated: use NewClient instead. Will be supported throughout 1.x.
func DialContext(ctx context.Context, target string, opts ...DialOption) (conn *ClientConn, err error) {
	cc, err := NewClient(target, opts...)
	if err != nil {
		return nil, err
	}
	cc.Connect()
	return cc, nil
}

// Invoke sends the RPC request on the wire and returns after response is
// received. This is typically called by generated code.
//
// All errors returned by Invoke are compatible with the status package.
func (cc *ClientConn) Invoke(ctx context.Context, method string, args, reply any, opts ...CallOption) error {
	opts = combine(cc.dopts.callOptions, opts)
	if cc.dopts.unaryInt != nil {
		return cc.dopts.unaryInt(ctx, method, args, reply, cc, invoke, opts...)
	}
	return invoke(ctx, method, args, reply, cc, opts...)
}

// Invoke sends the RPC request on the wire and returns after response is
// received. This is typically called by generated code.
//
// DEPRECATED: Use ClientConn.Invoke instead.
func Invoke(ctx context.Context, method string, args, reply any, cc *ClientConn, opts ...CallOption) error {
	return cc.Invoke(ctx, method, args, reply, opts...)
}

// combine returns o1 followed by o2 without sharing o1's spare capacity.
func combine(o1, o2 []CallOption) []CallOption {
	if len(o1) == 0 {
		return o2
	}
	if len(o2) == 0 {
		return o1
	}
	out := make([]CallOption, 0, len(o1)+len(o2))
	return append(append(out, o1...), o2...)
}

// invoke is the innermost UnaryInvoker: it calls the registered invoker.
func invoke(ctx context.Context, method string, req, reply any, cc *ClientConn, opts ...CallOption) error {
	if cc != nil {
		cc.Connect()
	}
	var ci callInfo
	for _, o := range opts {
		if err := o.before(&ci); err != nil {
			return status.Convert(err).Err()
		}
	}
	if ci.response != nil && ctx != nil {
		ctx = cofaasrt.WithCallResponse(ctx, ci.response)
	}
	err := call(ctx, method, req, reply)
	for _, o := range opts {
		o.after(&ci, err)
	}
	for _, f := range ci.onFinish {
		f(err)
	}
	return err
}

func call(ctx context.Context, method string, req, reply any) error {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return status.FromContextError(err).Err()
		}
	} else {
		ctx = context.Background()
	}
	if !strings.HasPrefix(method, "/") {
		method = "/" + method
	}
	inv, ok := cofaasrt.LookupInvoker(method)
	if !ok {
		return status.Errorf(codes.Unimplemented,
			"cofaas: this function does not import the service of %s (list it among the function's imports in cofaas.toml)", method)
	}
	if err := inv(ctx, req, reply); err != nil {
		return toStatus(err)
	}
	return nil
}

// NewStream creates a new Stream for the client side, after the conn's
// stream interceptors. This is typically called by generated code. The rpc
// goes to the glue of the imported service; a method no import provides
// gives codes.Unimplemented.
func (cc *ClientConn) NewStream(ctx context.Context, desc *StreamDesc, method string, opts ...CallOption) (ClientStream, error) {
	opts = combine(cc.dopts.callOptions, opts)
	if cc.dopts.streamInt != nil {
		return cc.dopts.streamInt(ctx, desc, cc, method, newClientStream, opts...)
	}
	return newClientStream(ctx, desc, cc, method, opts...)
}

// Target returns the target string of the ClientConn.
func (cc *ClientConn) Target() string { return cc.target }

// CanonicalTarget returns the canonical target string used when creating
// cc: the target, with "dns:///" in front if it names no scheme.
func (cc *ClientConn) CanonicalTarget() string {
	if strings.Contains(cc.target, "://") || strings.HasPrefix(cc.target, "unix:") ||
		strings.HasPrefix(cc.target, "passthrough:") {
		return cc.target
	}
	return "dns:///" + cc.target
}

// Close marks the ClientConn closed; a second Close returns
// ErrClientConnClosing. In cofaas the conn stays usable (see the file
// comment).
func (cc *ClientConn) Close() error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.isClosed {
		return ErrClientConnClosing
	}
	cc.isClosed = true
	cc.setStateLocked(connectivity.Shutdown)
	return nil
}

// Connect causes all subchannels in the ClientConn to attempt to connect
// if the channel is idle: in cofaas the conn becomes Ready at once.
func (cc *ClientConn) Connect() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.state == connectivity.Idle {
		cc.setStateLocked(connectivity.Ready)
	}
}

// ResetConnectBackoff does nothing: there is no connection backoff.
func (cc *ClientConn) ResetConnectBackoff() {}

// GetState returns the connectivity.State of ClientConn: Idle after
// NewClient, Ready after Connect, DialContext or the first rpc, Shutdown
// after Close.
func (cc *ClientConn) GetState() connectivity.State {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.state
}

// WaitForStateChange waits until the connectivity.State of ClientConn
// changes from sourceState or ctx expires. A true value is returned in
// former case and false in latter.
func (cc *ClientConn) WaitForStateChange(ctx context.Context, sourceState connectivity.State) bool {
	for {
		cc.mu.Lock()
		state, changed := cc.state, cc.changed
		cc.mu.Unlock()
		if state != sourceState {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-changed:
		}
	}
}

func (cc *ClientConn) setStateLocked(s connectivity.State) {
	if cc.state == s {
		return
	}
	cc.state = s
	close(cc.changed)
	cc.changed = make(chan struct{})
}

// dialOptions configure a Dial call.
type dialOptions struct {
	unaryInt        UnaryClientInterceptor
	streamInt       StreamClientInterceptor
	chainUnaryInts  []UnaryClientInterceptor
	chainStreamInts []StreamClientInterceptor
	callOptions     []CallOption

	transportCreds     credentials.TransportCredentials
	credsBundle        credentials.Bundle
	perRPCCreds        []credentials.PerRPCCredentials
	authority          string
	userAgent          string
	serviceConfig      string
	keepalive          keepalive.ClientParameters
	connectParams      ConnectParams
	timeout            time.Duration
	dialer             func(context.Context, string) (net.Conn, error)
	codec              Codec
	block              bool
	returnLastError    bool
	failOnNonTempError bool
}

func (o *dialOptions) validateTransportCredentials() error {
	if o.transportCreds == nil && o.credsBundle == nil {
		return errNoTransportSecurity
	}
	if o.transportCreds != nil && o.credsBundle != nil {
		return errTransportCredsAndBundle
	}
	if o.credsBundle != nil && o.credsBundle.TransportCredentials() == nil {
		return errNoTransportCredsInBundle
	}
	tc := o.transportCreds
	if tc == nil {
		tc = o.credsBundle.TransportCredentials()
	}
	if tc.Info().SecurityProtocol == "insecure" {
		for _, c := range o.perRPCCreds {
			if c.RequireTransportSecurity() {
				return errTransportCredentialsMissing
			}
		}
	}
	return nil
}

// DialOption configures how we set up the connection.
type DialOption interface {
	apply(*dialOptions)
}

// EmptyDialOption does not alter the dial configuration. It can be
// embedded in another structure to build custom dial options.
type EmptyDialOption struct{}

func (EmptyDialOption) apply(*dialOptions) {}

type funcDialOption func(*dialOptions)

func (f funcDialOption) apply(o *dialOptions) { f(o) }

// MaxHeaderListSizeDialOption is a DialOption that specifies the maximum
// (uncompressed) size of header list that the client is prepared to
// accept.
type MaxHeaderListSizeDialOption struct {
	MaxHeaderListSize uint32
}

func (MaxHeaderListSizeDialOption) apply(*dialOptions) {}

var ignoredDialOption = EmptyDialOption{}

// BackoffConfig defines the parameters for the default gRPC backoff
// strategy.
//
// Deprecated: use ConnectParams instead. Will be supported throughout 1.x.
type BackoffConfig struct {
	// MaxDelay is the upper bound of backoff delay.
	MaxDelay time.Duration
}

// DefaultBackoffConfig uses values specified for backoff in
// https://github.com/grpc/grpc/blob/master/doc/connection-backoff.md.
//
// Deprecated: use ConnectParams instead. Will be supported throughout 1.x.
var DefaultBackoffConfig = BackoffConfig{MaxDelay: 120 * time.Second}

// ConnectParams defines the parameters for connecting and retrying.
type ConnectParams struct {
	// Backoff specifies the configuration options for connection backoff.
	Backoff backoff.Config
	// MinConnectTimeout is the minimum amount of time we are willing to
	// give a connection to complete.
	MinConnectTimeout time.Duration
}

// WithTransportCredentials returns a DialOption which configures a
// connection level security credentials (e.g., TLS/SSL).
func WithTransportCredentials(creds credentials.TransportCredentials) DialOption {
	return funcDialOption(func(o *dialOptions) { o.transportCreds = creds })
}

// WithInsecure returns a DialOption which disables transport security for
// this ClientConn.
//
// Deprecated: use WithTransportCredentials and insecure.NewCredentials()
// instead. Will be supported throughout 1.x.
func WithInsecure() DialOption {
	return funcDialOption(func(o *dialOptions) { o.transportCreds = insecure.NewCredentials() })
}

// WithCredentialsBundle returns a DialOption to set a credentials bundle
// for the ClientConn.
func WithCredentialsBundle(b credentials.Bundle) DialOption {
	return funcDialOption(func(o *dialOptions) { o.credsBundle = b })
}

// WithPerRPCCredentials returns a DialOption which sets credentials and
// places auth state on each outbound RPC (never asked for metadata in
// cofaas).
func WithPerRPCCredentials(creds credentials.PerRPCCredentials) DialOption {
	return funcDialOption(func(o *dialOptions) { o.perRPCCreds = append(o.perRPCCreds, creds) })
}

// WithBlock returns a DialOption which makes callers of Dial block until
// the underlying connection is up: in cofaas it is up at once.
//
// Deprecated: this DialOption is not supported by NewClient.
func WithBlock() DialOption {
	return funcDialOption(func(o *dialOptions) { o.block = true })
}

// WithReturnConnectionError returns a DialOption which makes the client
// connection return a string containing both the last connection error
// that occurred and the context.DeadlineExceeded error (there are none in
// cofaas).
//
// Deprecated: this DialOption is not supported by NewClient.
func WithReturnConnectionError() DialOption {
	return funcDialOption(func(o *dialOptions) { o.block = true; o.returnLastError = true })
}

// FailOnNonTempDialError is accepted and ignored.
//
// Deprecated: this DialOption is not supported by NewClient.
func FailOnNonTempDialError(f bool) DialOption {
	return funcDialOption(func(o *dialOptions) { o.failOnNonTempError = f })
}

// WithTimeout returns a DialOption that configures a timeout for dialing a
// ClientConn initially (never reached in cofaas).
//
// Deprecated: use DialContext instead of Dial and context.WithTimeout
// instead.
func WithTimeout(d time.Duration) DialOption {
	return funcDialOption(func(o *dialOptions) { o.timeout = d })
}

// WithContextDialer returns a DialOption that specifies a function to use
// for dialing network addresses (never called in cofaas).
func WithContextDialer(f func(context.Context, string) (net.Conn, error)) DialOption {
	return funcDialOption(func(o *dialOptions) { o.dialer = f })
}

// WithDialer returns a DialOption that specifies a function to use for
// dialing network addresses (never called in cofaas).
//
// Deprecated: use WithContextDialer instead.
func WithDialer(f func(string, time.Duration) (net.Conn, error)) DialOption {
	return WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		var d time.Duration
		if deadline, ok := ctx.Deadline(); ok {
			d = time.Until(deadline)
		}
		return f(addr, d)
	})
}

// WithAuthority returns a DialOption that specifies the value to be used
// as the :authority pseudo-header.
func WithAuthority(a string) DialOption {
	return funcDialOption(func(o *dialOptions) { o.authority = a })
}

// WithUserAgent returns a DialOption that specifies a user agent string
// for all the RPCs.
func WithUserAgent(s string) DialOption {
	return funcDialOption(func(o *dialOptions) { o.userAgent = s })
}

// WithKeepaliveParams returns a DialOption that specifies keepalive
// parameters for the client transport (unused in cofaas).
func WithKeepaliveParams(kp keepalive.ClientParameters) DialOption {
	return funcDialOption(func(o *dialOptions) { o.keepalive = kp })
}

// WithDefaultServiceConfig returns a DialOption that configures the
// default service config (recorded, not parsed, in cofaas).
func WithDefaultServiceConfig(s string) DialOption {
	return funcDialOption(func(o *dialOptions) { o.serviceConfig = s })
}

// WithDefaultCallOptions returns a DialOption which sets the default
// CallOptions for calls over the connection.
func WithDefaultCallOptions(cos ...CallOption) DialOption {
	return funcDialOption(func(o *dialOptions) { o.callOptions = append(o.callOptions, cos...) })
}

// WithCodec returns a DialOption which sets a codec for message marshaling
// and unmarshaling (unused in cofaas).
//
// Deprecated: use WithDefaultCallOptions(ForceCodec(_)) instead.
func WithCodec(c Codec) DialOption {
	return WithDefaultCallOptions(CallCustomCodec(c))
}

// WithConnectParams configures the ClientConn to use the provided
// ConnectParams (unused in cofaas).
func WithConnectParams(p ConnectParams) DialOption {
	return funcDialOption(func(o *dialOptions) { o.connectParams = p })
}

// WithBackoffMaxDelay configures the dialer to use the provided maximum
// delay when backing off after failed connection attempts.
//
// Deprecated: use WithConnectParams instead.
func WithBackoffMaxDelay(md time.Duration) DialOption {
	return WithBackoffConfig(BackoffConfig{MaxDelay: md})
}

// WithBackoffConfig configures the dialer to use the provided backoff
// parameters after connection failures.
//
// Deprecated: use WithConnectParams instead.
func WithBackoffConfig(b BackoffConfig) DialOption {
	return funcDialOption(func(o *dialOptions) { o.connectParams.Backoff.MaxDelay = b.MaxDelay })
}

// WithUnaryInterceptor returns a DialOption that specifies the interceptor
// for unary RPCs. It runs before those given by WithChainUnaryInterceptor.
func WithUnaryInterceptor(f UnaryClientInterceptor) DialOption {
	return funcDialOption(func(o *dialOptions) { o.unaryInt = f })
}

// WithChainUnaryInterceptor returns a DialOption that specifies the chained
// interceptor for unary RPCs. The first interceptor will be the outer most,
// while the last interceptor will be the inner most wrapper around the real
// call.
func WithChainUnaryInterceptor(interceptors ...UnaryClientInterceptor) DialOption {
	return funcDialOption(func(o *dialOptions) { o.chainUnaryInts = append(o.chainUnaryInts, interceptors...) })
}

// WithStreamInterceptor returns a DialOption that specifies the interceptor
// for streaming RPCs.
func WithStreamInterceptor(f StreamClientInterceptor) DialOption {
	return funcDialOption(func(o *dialOptions) { o.streamInt = f })
}

// WithChainStreamInterceptor returns a DialOption that specifies the
// chained interceptor for streaming RPCs.
func WithChainStreamInterceptor(interceptors ...StreamClientInterceptor) DialOption {
	return funcDialOption(func(o *dialOptions) { o.chainStreamInts = append(o.chainStreamInts, interceptors...) })
}

// WithMaxHeaderListSize is accepted and ignored.
func WithMaxHeaderListSize(s uint32) DialOption {
	return MaxHeaderListSizeDialOption{MaxHeaderListSize: s}
}

// WithMaxMsgSize is accepted and ignored.
//
// Deprecated: use WithDefaultCallOptions(MaxCallRecvMsgSize(s)) instead.
func WithMaxMsgSize(s int) DialOption { return WithDefaultCallOptions(MaxCallRecvMsgSize(s)) }

// WithWriteBufferSize is accepted and ignored.
func WithWriteBufferSize(s int) DialOption { return ignoredDialOption }

// WithReadBufferSize is accepted and ignored.
func WithReadBufferSize(s int) DialOption { return ignoredDialOption }

// WithSharedWriteBuffer is accepted and ignored.
func WithSharedWriteBuffer(val bool) DialOption { return ignoredDialOption }

// WithInitialWindowSize is accepted and ignored.
func WithInitialWindowSize(s int32) DialOption { return ignoredDialOption }

// WithInitialConnWindowSize is accepted and ignored.
func WithInitialConnWindowSize(s int32) DialOption { return ignoredDialOption }

// WithStaticStreamWindowSize is accepted and ignored.
func WithStaticStreamWindowSize(s int32) DialOption { return ignoredDialOption }

// WithStaticConnWindowSize is accepted and ignored.
func WithStaticConnWindowSize(s int32) DialOption { return ignoredDialOption }

// WithNoProxy is accepted and ignored.
func WithNoProxy() DialOption { return ignoredDialOption }

// WithLocalDNSResolution is accepted and ignored.
func WithLocalDNSResolution() DialOption { return ignoredDialOption }

// WithDisableServiceConfig is accepted and ignored.
func WithDisableServiceConfig() DialOption { return ignoredDialOption }

// WithDisableRetry is accepted and ignored.
func WithDisableRetry() DialOption { return ignoredDialOption }

// WithDisableHealthCheck is accepted and ignored.
func WithDisableHealthCheck() DialOption { return ignoredDialOption }

// WithMaxCallAttempts is accepted and ignored.
func WithMaxCallAttempts(n int) DialOption { return ignoredDialOption }

// WithIdleTimeout is accepted and ignored.
func WithIdleTimeout(d time.Duration) DialOption { return ignoredDialOption }
