// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// It implements package reflection's Register and RegisterV1 as no-ops, so
// that the common `reflection.Register(s)` in a main compiles and runs: a
// cofaas function serves only the rpcs of its own services, reached through
// the composition, so there is no client to reflect to. Left out: NewServer,
// NewServerV1, ServerOptions and the reflection service's generated code.

// Package reflection would register the gRPC server reflection service; in
// cofaas it registers nothing.
package reflection

import "google.golang.org/grpc"

// GRPCServer is the interface provided by a gRPC server. It is implemented
// by *grpc.Server, but could also be implemented by other concrete types.
type GRPCServer interface {
	grpc.ServiceRegistrar
	ServiceInfoProvider
}

var _ GRPCServer = (*grpc.Server)(nil)

// ServiceInfoProvider is an interface used to retrieve metadata about the
// services to expose.
type ServiceInfoProvider interface {
	GetServiceInfo() map[string]grpc.ServiceInfo
}

// Register would register the server reflection service on s; in cofaas
// it does nothing.
func Register(s GRPCServer) {}

// RegisterV1 would register only the v1 version of the server reflection
// service on s; in cofaas it does nothing.
func RegisterV1(s GRPCServer) {}
