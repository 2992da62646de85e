// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// It implements package encoding/gzip's public names so that the common
// blank import `_ "google.golang.org/grpc/encoding/gzip"` and
// grpc.UseCompressor(gzip.Name) compile. cofaas sends no bytes over a wire,
// so nothing is compressed. Left out: the compressor itself.

// Package gzip names the gzip compressor.
package gzip

import "fmt"

// Name is the name registered for the gzip compressor.
const Name = "gzip"

// SetLevel checks level as compress/gzip would (-2 to 9) and otherwise does
// nothing.
func SetLevel(level int) error {
	if level < -2 || level > 9 {
		return fmt.Errorf("grpc: invalid gzip compression level: %d", level)
	}
	return nil
}
