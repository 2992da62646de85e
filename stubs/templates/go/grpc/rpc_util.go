// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// It implements the package-level odds and ends: the SupportPackageIsVersion
// constants that generated code checks, Version, the deprecated Errorf, Code
// and ErrorDesc, the Codec interface, EnableTracing, and the server-side
// context functions (Method, MethodFromServerStream, SetHeader, SendHeader,
// SetTrailer, SetSendCompressor, ClientSupportedCompressors), which do
// nothing but succeed inside an rpc served by cofaas. Left out: the Compressor/Decompressor API (NewGZIP...),
// PreparedMsg, MethodConfig and the deprecated ServiceConfig.
package grpc

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// The SupportPackageIsVersion variables are referenced from generated
// protocol buffer files to ensure compatibility with the gRPC version used.
const (
	SupportPackageIsVersion3 = true
	SupportPackageIsVersion4 = true
	SupportPackageIsVersion5 = true
	SupportPackageIsVersion6 = true
	SupportPackageIsVersion7 = true
	SupportPackageIsVersion8 = true
	SupportPackageIsVersion9 = true
)

// Version is the grpc-go version whose API this stand-in follows.
const Version = "1.76.0-cofaas"

// EnableTracing controls whether to trace RPCs (there is nothing to trace
// in cofaas).
var EnableTracing bool

// Codec defines the interface gRPC uses to encode and decode messages.
//
// Deprecated: use encoding.Codec instead.
type Codec interface {
	// Marshal returns the wire format of v.
	Marshal(v any) ([]byte, error)
	// Unmarshal parses the wire format into v.
	Unmarshal(data []byte, v any) error
	// String returns the name of the Codec implementation.
	String() string
}

// Errorf returns nil if c is OK.
//
// Deprecated: use status.Errorf instead.
func Errorf(c codes.Code, format string, a ...any) error {
	return status.Errorf(c, format, a...)
}

// Code returns the error code for err if it was produced by the rpc
// system. Otherwise, it returns codes.Unknown.
//
// Deprecated: use status.Code instead.
func Code(err error) codes.Code {
	return status.Code(err)
}

// ErrorDesc returns the error description of err if it was produced by the
// rpc system. Otherwise, it returns err.Error() or empty string when err is
// nil.
//
// Deprecated: use status.Convert and Message method instead.
func ErrorDesc(err error) string {
	return status.Convert(err).Message()
}

// Method returns the method string for the server context. The returned
// string is in the format of "/service/method".
func Method(ctx context.Context) (string, bool) {
	s := ServerTransportStreamFromContext(ctx)
	if s == nil {
		return "", false
	}
	return s.Method(), true
}

// MethodFromServerStream returns the method string for the input stream.
func MethodFromServerStream(stream ServerStream) (string, bool) {
	return Method(stream.Context())
}

func errNoStream(ctx context.Context) error {
	return status.Errorf(codes.Internal, "grpc: failed to fetch the stream from the context %v", ctx)
}

// SetHeader sets the header metadata to be sent from the server to the
// client. In cofaas nothing is sent; inside a served rpc it returns nil.
func SetHeader(ctx context.Context, md metadata.MD) error {
	if md.Len() == 0 {
		return nil
	}
	s := ServerTransportStreamFromContext(ctx)
	if s == nil {
		return errNoStream(ctx)
	}
	return s.SetHeader(md)
}

// SendHeader sends header metadata. In cofaas nothing is sent; inside a
// served rpc it returns nil.
func SendHeader(ctx context.Context, md metadata.MD) error {
	s := ServerTransportStreamFromContext(ctx)
	if s == nil {
		return errNoStream(ctx)
	}
	return s.SendHeader(md)
}

// SetTrailer sets the trailer metadata that will be sent when an RPC
// returns. In cofaas nothing is sent; inside a served rpc it returns nil.
func SetTrailer(ctx context.Context, md metadata.MD) error {
	if md.Len() == 0 {
		return nil
	}
	s := ServerTransportStreamFromContext(ctx)
	if s == nil {
		return errNoStream(ctx)
	}
	return s.SetTrailer(md)
}

// SetSendCompressor sets a compressor for outbound messages from the
// server. In cofaas nothing is compressed; inside a served rpc it returns
// nil.
func SetSendCompressor(ctx context.Context, name string) error {
	if ServerTransportStreamFromContext(ctx) == nil {
		return errNoStream(ctx)
	}
	return nil
}

// ClientSupportedCompressors returns compressor names advertised by the
// client via grpc-accept-encoding header: none in cofaas.
func ClientSupportedCompressors(ctx context.Context) ([]string, error) {
	if ServerTransportStreamFromContext(ctx) == nil {
		return nil, fmt.Errorf("failed to fetch the stream from the given context %v", ctx)
	}
	return nil, nil
}
