// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// It implements package metadata: MD (keys lowercased as in grpc-go), its
// methods, and the incoming/outgoing context helpers. Left out: the
// transport-level key validation and FromOutgoingContextRaw (internal use).
// In cofaas metadata crosses every call as natively: a call sends its
// context's outgoing MD, a served rpc's incoming MD is what its caller
// sent, and grpc.SetHeader/SetTrailer reach the caller's grpc.Header and
// grpc.Trailer.

// Package metadata defines the structure of the metadata supported by gRPC.
package metadata

import (
	"context"
	"fmt"
	"strings"
)

// DecodeKeyValue returns k, v, nil.
//
// Deprecated: use k and v directly instead.
func DecodeKeyValue(k, v string) (string, string, error) {
	return k, v, nil
}

// MD is a mapping from metadata keys to values. Keys are lowercased by the
// functions and methods of this package.
type MD map[string][]string

// New creates an MD from a given key-value map. Keys are lowercased.
func New(m map[string]string) MD {
	md := make(MD, len(m))
	for k, v := range m {
		k = strings.ToLower(k)
		md[k] = append(md[k], v)
	}
	return md
}

// Pairs returns an MD formed by the mapping of key, value ... Pairs panics
// if len(kv) is odd. Keys are lowercased.
func Pairs(kv ...string) MD {
	if len(kv)%2 == 1 {
		panic(fmt.Sprintf("metadata: Pairs got the odd number of input pairs for metadata: %d", len(kv)))
	}
	md := make(MD, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k := strings.ToLower(kv[i])
		md[k] = append(md[k], kv[i+1])
	}
	return md
}

// Len returns the number of items in md.
func (md MD) Len() int { return len(md) }

// Copy returns a deep copy of md.
func (md MD) Copy() MD {
	out := make(MD, len(md))
	for k, v := range md {
		out[k] = copyOf(v)
	}
	return out
}

// Get obtains the values for a given key. k is lowercased first.
func (md MD) Get(k string) []string {
	return md[strings.ToLower(k)]
}

// Set sets the value of a given key with a slice of values. k is
// lowercased first. Setting no values does nothing.
func (md MD) Set(k string, vals ...string) {
	if len(vals) == 0 {
		return
	}
	md[strings.ToLower(k)] = vals
}

// Append adds the values to key k, not overwriting what was already stored
// at that key. k is lowercased first. Appending no values does nothing.
func (md MD) Append(k string, vals ...string) {
	if len(vals) == 0 {
		return
	}
	k = strings.ToLower(k)
	md[k] = append(md[k], vals...)
}

// Delete removes the values for a given key k (lowercased first).
func (md MD) Delete(k string) {
	delete(md, strings.ToLower(k))
}

// Join joins any number of mds into a single MD. The order of values for
// each key is determined by the order in which the mds are given.
func Join(mds ...MD) MD {
	n := 0
	for _, md := range mds {
		n += len(md)
	}
	out := make(MD, n)
	for _, md := range mds {
		for k, v := range md {
			out[k] = append(out[k], v...)
		}
	}
	return out
}

type mdIncomingKey struct{}
type mdOutgoingKey struct{}

// outgoing is what the outgoing context holds: an MD plus pairs appended
// with AppendToOutgoingContext (merged lazily by FromOutgoingContext).
type outgoing struct {
	md    MD
	added [][]string
}

// NewIncomingContext creates a new context with incoming md attached. md
// must not be modified after calling this function.
func NewIncomingContext(ctx context.Context, md MD) context.Context {
	return context.WithValue(ctx, mdIncomingKey{}, md)
}

// NewOutgoingContext creates a new context with outgoing md attached. If
// used in conjunction with AppendToOutgoingContext, NewOutgoingContext will
// overwrite any previously-appended metadata. md must not be modified after
// calling this function.
func NewOutgoingContext(ctx context.Context, md MD) context.Context {
	return context.WithValue(ctx, mdOutgoingKey{}, outgoing{md: md})
}

// AppendToOutgoingContext returns a new context with the provided kv merged
// with any existing metadata in the context. It panics if len(kv) is odd.
func AppendToOutgoingContext(ctx context.Context, kv ...string) context.Context {
	if len(kv)%2 == 1 {
		panic(fmt.Sprintf("metadata: AppendToOutgoingContext got an odd number of input pairs for metadata: %d", len(kv)))
	}
	o, _ := ctx.Value(mdOutgoingKey{}).(outgoing)
	added := make([][]string, len(o.added), len(o.added)+1)
	copy(added, o.added)
	pairs := make([]string, len(kv))
	for i := range kv {
		if i%2 == 0 {
			pairs[i] = strings.ToLower(kv[i])
		} else {
			pairs[i] = kv[i]
		}
	}
	return context.WithValue(ctx, mdOutgoingKey{}, outgoing{md: o.md, added: append(added, pairs)})
}

// FromIncomingContext returns a copy of the incoming metadata in ctx, if it
// exists, with all keys lowercased.
func FromIncomingContext(ctx context.Context) (MD, bool) {
	md, ok := ctx.Value(mdIncomingKey{}).(MD)
	if !ok {
		return nil, false
	}
	out := make(MD, len(md))
	for k, v := range md {
		out[strings.ToLower(k)] = copyOf(v)
	}
	return out, true
}

// ValueFromIncomingContext returns a copy of the metadata value in ctx for
// key, if it exists. The key is matched case-insensitively.
func ValueFromIncomingContext(ctx context.Context, key string) []string {
	md, ok := ctx.Value(mdIncomingKey{}).(MD)
	if !ok {
		return nil
	}
	if v, ok := md[key]; ok {
		return copyOf(v)
	}
	for k, v := range md {
		if strings.EqualFold(k, key) {
			return copyOf(v)
		}
	}
	return nil
}

// FromOutgoingContext returns a copy of the outgoing metadata in ctx, if it
// exists, with all keys lowercased.
func FromOutgoingContext(ctx context.Context) (MD, bool) {
	o, ok := ctx.Value(mdOutgoingKey{}).(outgoing)
	if !ok {
		return nil, false
	}
	n := len(o.md)
	for _, a := range o.added {
		n += len(a) / 2
	}
	out := make(MD, n)
	for k, v := range o.md {
		k = strings.ToLower(k)
		out[k] = append(out[k], v...)
	}
	for _, a := range o.added {
		for i := 0; i < len(a); i += 2 {
			out[a[i]] = append(out[a[i]], a[i+1])
		}
	}
	return out, true
}

func copyOf(v []string) []string {
	out := make([]string, len(v))
	copy(out, v)
	return out
}
