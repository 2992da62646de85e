// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// It implements package peer: Peer, NewContext and FromContext. cofaas has no
// network peers, so a served rpc's context carries no Peer and the
// grpc.Peer call option leaves its Peer empty. Nothing is left out.

// Package peer defines various peer information associated with RPCs and
// corresponding utils.
package peer

import (
	"context"
	"fmt"
	"net"
	"strings"

	"google.golang.org/grpc/credentials"
)

// Peer contains the information of the peer for an RPC, such as the address
// and authentication information.
type Peer struct {
	// Addr is the peer address.
	Addr net.Addr
	// LocalAddr is the local address.
	LocalAddr net.Addr
	// AuthInfo is the authentication information of the transport.
	AuthInfo credentials.AuthInfo
}

// String ensures the Peer types implements the Stringer interface in order
// to allow to print a context with a peerKey value effectively.
func (p *Peer) String() string {
	if p == nil {
		return "Peer<nil>"
	}
	var b strings.Builder
	b.WriteString("Peer{")
	addr := func(name string, a net.Addr) {
		if a == nil {
			fmt.Fprintf(&b, "%s: <nil>, ", name)
		} else {
			fmt.Fprintf(&b, "%s: '%s', ", name, a.String())
		}
	}
	addr("Addr", p.Addr)
	addr("LocalAddr", p.LocalAddr)
	if p.AuthInfo == nil {
		b.WriteString("AuthInfo: <nil>")
	} else {
		fmt.Fprintf(&b, "AuthInfo: '%s'", p.AuthInfo.AuthType())
	}
	b.WriteString("}")
	return b.String()
}

type peerKey struct{}

// NewContext creates a new context with peer information attached.
func NewContext(ctx context.Context, p *Peer) context.Context {
	return context.WithValue(ctx, peerKey{}, p)
}

// FromContext returns the peer information in ctx if it exists.
func FromContext(ctx context.Context) (p *Peer, ok bool) {
	p, ok = ctx.Value(peerKey{}).(*Peer)
	return p, ok
}
