// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// It implements CallOption and its constructors, with grpc-go's exported
// option struct types (which interceptors may type-switch on). Effects in
// cofaas: OnFinish callbacks run with the rpc's error; Header and Trailer
// receive the callee's response headers and trailers after the call; Peer
// gets an empty Peer (nothing comes over a wire); the rest are recorded and
// ignored. Left out: ForceCodec and
// ForceCodecV2 (they need package encoding).
package grpc

import (
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/internal/cofaasrt"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// callInfo is what the CallOptions of one rpc set.
type callInfo struct {
	failFast       bool
	maxRecvMsgSize *int
	maxSendMsgSize *int
	creds          credentials.PerRPCCredentials
	contentSubtype string
	authority      string
	compressor     string
	codec          Codec
	onFinish       []func(err error)
	// response, when some option asks for the response metadata: where
	// the invoker puts it.
	response *cofaasrt.ResponseMD
}

// wantResponse makes the call collect its response metadata.
func (c *callInfo) wantResponse() {
	if c.response == nil {
		c.response = &cofaasrt.ResponseMD{}
	}
}

// CallOption configures a Call before it starts or extracts information
// from a Call after it completes.
type CallOption interface {
	// before is called before the call is sent; an error aborts the call.
	before(*callInfo) error
	// after is called after the call has completed, with its error.
	after(*callInfo, error)
}

// EmptyCallOption does not alter the Call configuration. It can be
// embedded in another structure to carry satellite data for use by
// interceptors.
type EmptyCallOption struct{}

func (EmptyCallOption) before(*callInfo) error { return nil }
func (EmptyCallOption) after(*callInfo, error) {}

// StaticMethod returns a CallOption which specifies that a call is being
// made to a method that is static, which means the method is known at
// compile time and doesn't change at runtime.
func StaticMethod() CallOption { return StaticMethodCallOption{} }

// StaticMethodCallOption is a CallOption that specifies that a call comes
// from a static method.
type StaticMethodCallOption struct {
	EmptyCallOption
}

// Header returns a CallOptions that retrieves the header metadata for a
// unary RPC.
func Header(md *metadata.MD) CallOption { return HeaderCallOption{HeaderAddr: md} }

// HeaderCallOption is a CallOption for collecting response header metadata.
type HeaderCallOption struct {
	HeaderAddr *metadata.MD
}

func (o HeaderCallOption) before(c *callInfo) error {
	c.wantResponse()
	return nil
}
func (o HeaderCallOption) after(c *callInfo, _ error) {
	if o.HeaderAddr != nil {
		*o.HeaderAddr = orEmpty(c.response.Header)
	}
}

// orEmpty is md, or an empty MD for nil (grpc-go never hands out nil).
func orEmpty(md metadata.MD) metadata.MD {
	if md == nil {
		return metadata.MD{}
	}
	return md
}

// Trailer returns a CallOptions that retrieves the trailer metadata for a
// unary RPC.
func Trailer(md *metadata.MD) CallOption { return TrailerCallOption{TrailerAddr: md} }

// TrailerCallOption is a CallOption for collecting response trailer
// metadata.
type TrailerCallOption struct {
	TrailerAddr *metadata.MD
}

func (o TrailerCallOption) before(c *callInfo) error {
	c.wantResponse()
	return nil
}
func (o TrailerCallOption) after(c *callInfo, _ error) {
	if o.TrailerAddr != nil {
		*o.TrailerAddr = orEmpty(c.response.Trailer)
	}
}

// Peer returns a CallOption that retrieves peer information for a unary
// RPC (always empty in cofaas).
func Peer(p *peer.Peer) CallOption { return PeerCallOption{PeerAddr: p} }

// PeerCallOption is a CallOption for collecting the identity of the remote
// peer.
type PeerCallOption struct {
	PeerAddr *peer.Peer
}

func (o PeerCallOption) before(*callInfo) error { return nil }
func (o PeerCallOption) after(*callInfo, error) {
	if o.PeerAddr != nil {
		*o.PeerAddr = peer.Peer{}
	}
}

// WaitForReady configures the RPC's behavior when the client is in
// TRANSIENT_FAILURE (which never happens in cofaas).
func WaitForReady(waitForReady bool) CallOption { return FailFastCallOption{FailFast: !waitForReady} }

// FailFast is the opposite of WaitForReady.
//
// Deprecated: use WaitForReady.
func FailFast(failFast bool) CallOption { return FailFastCallOption{FailFast: failFast} }

// FailFastCallOption is a CallOption for indicating whether an RPC should
// fail fast or not.
type FailFastCallOption struct {
	FailFast bool
}

func (o FailFastCallOption) before(c *callInfo) error { c.failFast = o.FailFast; return nil }
func (o FailFastCallOption) after(*callInfo, error)   {}

// OnFinish returns a CallOption that configures a callback to be called
// when the call completes. The error passed to the callback is the status
// of the RPC, and may be nil.
func OnFinish(onFinish func(err error)) CallOption { return OnFinishCallOption{OnFinish: onFinish} }

// OnFinishCallOption is CallOption that indicates a callback to be called
// when the call completes.
type OnFinishCallOption struct {
	OnFinish func(error)
}

func (o OnFinishCallOption) before(c *callInfo) error {
	c.onFinish = append(c.onFinish, o.OnFinish)
	return nil
}
func (o OnFinishCallOption) after(*callInfo, error) {}

// MaxCallRecvMsgSize returns a CallOption which sets the maximum message
// size in bytes the client can receive (not enforced in cofaas).
func MaxCallRecvMsgSize(bytes int) CallOption { return MaxRecvMsgSizeCallOption{MaxRecvMsgSize: bytes} }

// MaxRecvMsgSizeCallOption is a CallOption that indicates the maximum
// message size in bytes the client can receive.
type MaxRecvMsgSizeCallOption struct {
	MaxRecvMsgSize int
}

func (o MaxRecvMsgSizeCallOption) before(c *callInfo) error {
	c.maxRecvMsgSize = &o.MaxRecvMsgSize
	return nil
}
func (o MaxRecvMsgSizeCallOption) after(*callInfo, error) {}

// MaxCallSendMsgSize returns a CallOption which sets the maximum message
// size in bytes the client can send (not enforced in cofaas).
func MaxCallSendMsgSize(bytes int) CallOption { return MaxSendMsgSizeCallOption{MaxSendMsgSize: bytes} }

// MaxSendMsgSizeCallOption is a CallOption that indicates the maximum
// message size in bytes the client can send.
type MaxSendMsgSizeCallOption struct {
	MaxSendMsgSize int
}

func (o MaxSendMsgSizeCallOption) before(c *callInfo) error {
	c.maxSendMsgSize = &o.MaxSendMsgSize
	return nil
}
func (o MaxSendMsgSizeCallOption) after(*callInfo, error) {}

// PerRPCCredentials returns a CallOption that sets credentials.
// PerRPCCredentials for a call (never asked for metadata in cofaas).
func PerRPCCredentials(creds credentials.PerRPCCredentials) CallOption {
	return PerRPCCredsCallOption{Creds: creds}
}

// PerRPCCredsCallOption is a CallOption that indicates the per-RPC
// credentials to use for the call.
type PerRPCCredsCallOption struct {
	Creds credentials.PerRPCCredentials
}

func (o PerRPCCredsCallOption) before(c *callInfo) error { c.creds = o.Creds; return nil }
func (o PerRPCCredsCallOption) after(*callInfo, error)   {}

// UseCompressor returns a CallOption which sets the compressor used when
// sending the request (nothing is compressed in cofaas).
func UseCompressor(name string) CallOption { return CompressorCallOption{CompressorType: name} }

// CompressorCallOption is a CallOption that indicates the compressor to
// use.
type CompressorCallOption struct {
	CompressorType string
}

func (o CompressorCallOption) before(c *callInfo) error { c.compressor = o.CompressorType; return nil }
func (o CompressorCallOption) after(*callInfo, error)   {}

// CallContentSubtype returns a CallOption that will set the content-subtype
// for a call.
func CallContentSubtype(contentSubtype string) CallOption {
	return ContentSubtypeCallOption{ContentSubtype: contentSubtype}
}

// ContentSubtypeCallOption is a CallOption that indicates the
// content-subtype used for marshaling messages.
type ContentSubtypeCallOption struct {
	ContentSubtype string
}

func (o ContentSubtypeCallOption) before(c *callInfo) error {
	c.contentSubtype = o.ContentSubtype
	return nil
}
func (o ContentSubtypeCallOption) after(*callInfo, error) {}

// CallAuthority returns a CallOption that sets the HTTP/2 :authority header
// of an RPC to the specified value.
func CallAuthority(authority string) CallOption {
	return AuthorityOverrideCallOption{Authority: authority}
}

// AuthorityOverrideCallOption is a CallOption that indicates the
// authority to use for the call.
type AuthorityOverrideCallOption struct {
	Authority string
}

func (o AuthorityOverrideCallOption) before(c *callInfo) error { c.authority = o.Authority; return nil }
func (o AuthorityOverrideCallOption) after(*callInfo, error)   {}

// CallCustomCodec behaves like ForceCodec, but accepts a grpc.Codec.
//
// Deprecated: use ForceCodec instead.
func CallCustomCodec(codec Codec) CallOption { return CustomCodecCallOption{Codec: codec} }

// CustomCodecCallOption is a CallOption that indicates the codec used for
// marshaling messages.
type CustomCodecCallOption struct {
	Codec Codec
}

func (o CustomCodecCallOption) before(c *callInfo) error { c.codec = o.Codec; return nil }
func (o CustomCodecCallOption) after(*callInfo, error)   {}

// MaxRetryRPCBufferSize returns a CallOption that limits the amount of
// memory used for buffering this RPC's requests for retry purposes.
func MaxRetryRPCBufferSize(bytes int) CallOption {
	return MaxRetryRPCBufferSizeCallOption{MaxRetryRPCBufferSize: bytes}
}

// MaxRetryRPCBufferSizeCallOption is a CallOption indicating the amount of
// memory to be used for caching this RPC for retry purposes.
type MaxRetryRPCBufferSizeCallOption struct {
	MaxRetryRPCBufferSize int
}

func (o MaxRetryRPCBufferSizeCallOption) before(*callInfo) error { return nil }
func (o MaxRetryRPCBufferSizeCallOption) after(*callInfo, error) {}
