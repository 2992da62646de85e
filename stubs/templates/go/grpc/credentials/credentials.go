// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// It implements package credentials' interfaces and plain types
// (TransportCredentials, PerRPCCredentials, Bundle, AuthInfo, ProtocolInfo,
// SecurityLevel, CommonAuthInfo, RequestInfo, CheckSecurityLevel). cofaas
// opens no connections, so no credentials are ever used. Left out: the TLS constructors (NewTLS,
// NewClientTLSFromFile, ..., TLSInfo), which would link crypto/tls into
// every function (+1.5 MB), and the channelz and handshake-info types.

// Package credentials defines the interfaces for the credentials gRPC
// supports.
package credentials

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// ErrConnDispatched indicates that rawConn has been dispatched out of gRPC
// and the caller should not close rawConn.
var ErrConnDispatched = errors.New("credentials: rawConn is dispatched out of gRPC")

// PerRPCCredentials defines the common interface for the credentials which
// need to attach security information to every RPC.
type PerRPCCredentials interface {
	GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error)
	RequireTransportSecurity() bool
}

// SecurityLevel defines the protection level on an established connection.
type SecurityLevel int

// The security levels.
const (
	InvalidSecurityLevel SecurityLevel = iota
	NoSecurity
	IntegrityOnly
	PrivacyAndIntegrity
)

// String returns the SecurityLevel as a string.
func (s SecurityLevel) String() string {
	switch s {
	case NoSecurity:
		return "NoSecurity"
	case IntegrityOnly:
		return "IntegrityOnly"
	case PrivacyAndIntegrity:
		return "PrivacyAndIntegrity"
	}
	return fmt.Sprintf("invalid SecurityLevel: %v", int(s))
}

// CommonAuthInfo contains authenticated information common to AuthInfo
// implementations.
type CommonAuthInfo struct {
	SecurityLevel SecurityLevel
}

// GetCommonAuthInfo returns the pointed CommonAuthInfo struct.
func (c CommonAuthInfo) GetCommonAuthInfo() CommonAuthInfo { return c }

// CheckSecurityLevel checks if a connection's security level is greater
// than or equal to the specified one. It returns success if ai has no
// security level (does not embed CommonAuthInfo) or an invalid one.
func CheckSecurityLevel(ai AuthInfo, level SecurityLevel) error {
	if ai == nil {
		return errors.New("AuthInfo is nil")
	}
	ci, ok := ai.(interface{ GetCommonAuthInfo() CommonAuthInfo })
	if !ok {
		return nil
	}
	if have := ci.GetCommonAuthInfo().SecurityLevel; have != InvalidSecurityLevel && have < level {
		return fmt.Errorf("requires SecurityLevel %v; connection has %v", level, have)
	}
	return nil
}

// AuthorityValidator validates the authority used to override the
// :authority header.
type AuthorityValidator interface {
	ValidateAuthority(authority string) error
}

// ProtocolInfo provides static information regarding transport credentials.
type ProtocolInfo struct {
	// ProtocolVersion is the gRPC wire protocol version.
	//
	// Deprecated: this is unused by gRPC.
	ProtocolVersion string
	// SecurityProtocol is the security protocol in use.
	SecurityProtocol string
	// SecurityVersion is the security protocol version.
	//
	// Deprecated: this is unused by gRPC.
	SecurityVersion string
	// ServerName is the user-configured server name.
	//
	// Deprecated: use grpc.WithAuthority instead.
	ServerName string
}

// AuthInfo defines the common interface for the auth information the users
// are interested in.
type AuthInfo interface {
	AuthType() string
}

// TransportCredentials defines the common interface for all the live gRPC
// wire protocols and supported transport security protocols.
type TransportCredentials interface {
	ClientHandshake(context.Context, string, net.Conn) (net.Conn, AuthInfo, error)
	ServerHandshake(net.Conn) (net.Conn, AuthInfo, error)
	Info() ProtocolInfo
	Clone() TransportCredentials
	OverrideServerName(string) error
}

// Bundle is a combination of TransportCredentials and PerRPCCredentials.
type Bundle interface {
	TransportCredentials() TransportCredentials
	PerRPCCredentials() PerRPCCredentials
	NewWithMode(mode string) (Bundle, error)
}

// RequestInfo contains request data attached to the context passed to
// GetRequestMetadata calls.
type RequestInfo struct {
	// The method passed to Invoke or NewStream for this RPC.
	Method string
	// AuthInfo contains the information from a security handshake.
	AuthInfo AuthInfo
}

type requestInfoKey struct{}

// NewContextWithRequestInfo creates a new context from ctx and attaches ri
// to it.
func NewContextWithRequestInfo(ctx context.Context, ri RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, ri)
}

// RequestInfoFromContext extracts the RequestInfo from the context if it
// exists.
func RequestInfoFromContext(ctx context.Context) (ri RequestInfo, ok bool) {
	ri, ok = ctx.Value(requestInfoKey{}).(RequestInfo)
	return ri, ok
}
