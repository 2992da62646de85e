// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// It implements package credentials/insecure: NewCredentials and
// NewBundle. Nothing is left out.

// Package insecure provides an implementation of the
// credentials.TransportCredentials interface which disables transport
// security.
package insecure

import (
	"context"
	"net"

	"google.golang.org/grpc/credentials"
)

// NewCredentials returns a credentials which disables transport security.
func NewCredentials() credentials.TransportCredentials {
	return insecureTC{}
}

type insecureTC struct{}

func (insecureTC) ClientHandshake(_ context.Context, _ string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return conn, info{credentials.CommonAuthInfo{SecurityLevel: credentials.NoSecurity}}, nil
}

func (insecureTC) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return conn, info{credentials.CommonAuthInfo{SecurityLevel: credentials.NoSecurity}}, nil
}

func (insecureTC) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "insecure"}
}

func (insecureTC) Clone() credentials.TransportCredentials { return insecureTC{} }

func (insecureTC) OverrideServerName(string) error { return nil }

// info contains the auth information for an insecure connection.
type info struct {
	credentials.CommonAuthInfo
}

// AuthType returns the type of info as a string.
func (info) AuthType() string { return "insecure" }

// NewBundle returns a bundle with disabled transport security and no per
// rpc credential.
func NewBundle() credentials.Bundle { return insecureBundle{} }

type insecureBundle struct{}

func (insecureBundle) NewWithMode(string) (credentials.Bundle, error) { return insecureBundle{}, nil }

func (insecureBundle) PerRPCCredentials() credentials.PerRPCCredentials { return nil }

func (insecureBundle) TransportCredentials() credentials.TransportCredentials {
	return NewCredentials()
}
