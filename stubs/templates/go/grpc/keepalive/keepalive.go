// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// It implements package keepalive's parameter types, which cofaas accepts
// and ignores (there are no connections to keep alive). Nothing is left out.

// Package keepalive defines configurable parameters for point-to-point
// healthcheck.
package keepalive

import "time"

// ClientParameters is used to set keepalive parameters on the client-side.
type ClientParameters struct {
	Time                time.Duration
	Timeout             time.Duration
	PermitWithoutStream bool
}

// ServerParameters is used to set keepalive and max-age parameters on the
// server-side.
type ServerParameters struct {
	MaxConnectionIdle     time.Duration
	MaxConnectionAge      time.Duration
	MaxConnectionAgeGrace time.Duration
	Time                  time.Duration
	Timeout               time.Duration
}

// EnforcementPolicy is used to set keepalive enforcement policy on the
// server-side.
type EnforcementPolicy struct {
	MinTime             time.Duration
	PermitWithoutStream bool
}
