// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// It implements package codes: the 17 canonical gRPC status codes, their
// String and JSON forms. Nothing of grpc-go's codes package is left out.

// Package codes defines the canonical error codes used by gRPC.
package codes

import (
	"fmt"
	"strconv"
)

// A Code is a status code defined according to the gRPC documentation.
type Code uint32

// The canonical gRPC status codes.
const (
	OK                 Code = 0
	Canceled           Code = 1
	Unknown            Code = 2
	InvalidArgument    Code = 3
	DeadlineExceeded   Code = 4
	NotFound           Code = 5
	AlreadyExists      Code = 6
	PermissionDenied   Code = 7
	ResourceExhausted  Code = 8
	FailedPrecondition Code = 9
	Aborted            Code = 10
	OutOfRange         Code = 11
	Unimplemented      Code = 12
	Internal           Code = 13
	Unavailable        Code = 14
	DataLoss           Code = 15
	Unauthenticated    Code = 16

	_maxCode = 17
)

// names holds, per code, the Go-style name (String) and the canonical
// upper-snake name used on the wire and in JSON.
var names = [_maxCode]struct{ goName, canonical string }{
	{"OK", "OK"},
	{"Canceled", "CANCELLED"},
	{"Unknown", "UNKNOWN"},
	{"InvalidArgument", "INVALID_ARGUMENT"},
	{"DeadlineExceeded", "DEADLINE_EXCEEDED"},
	{"NotFound", "NOT_FOUND"},
	{"AlreadyExists", "ALREADY_EXISTS"},
	{"PermissionDenied", "PERMISSION_DENIED"},
	{"ResourceExhausted", "RESOURCE_EXHAUSTED"},
	{"FailedPrecondition", "FAILED_PRECONDITION"},
	{"Aborted", "ABORTED"},
	{"OutOfRange", "OUT_OF_RANGE"},
	{"Unimplemented", "UNIMPLEMENTED"},
	{"Internal", "INTERNAL"},
	{"Unavailable", "UNAVAILABLE"},
	{"DataLoss", "DATA_LOSS"},
	{"Unauthenticated", "UNAUTHENTICATED"},
}

// String returns the Go name of the code ("InvalidArgument"), or
// "Code(<n>)" for a code outside the canonical range.
func (c Code) String() string {
	if c < _maxCode {
		return names[c].goName
	}
	return "Code(" + strconv.FormatInt(int64(c), 10) + ")"
}

// UnmarshalJSON unmarshals b into the Code. It accepts a JSON number or a
// quoted canonical name such as "INVALID_ARGUMENT".
func (c *Code) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if c == nil {
		return fmt.Errorf("nil receiver passed to UnmarshalJSON")
	}
	if ci, err := strconv.ParseUint(string(b), 10, 32); err == nil {
		if ci >= _maxCode {
			return fmt.Errorf("invalid code: %d", ci)
		}
		*c = Code(ci)
		return nil
	}
	if s, err := strconv.Unquote(string(b)); err == nil {
		for i, n := range names {
			if n.canonical == s {
				*c = Code(i)
				return nil
			}
		}
	}
	return fmt.Errorf("invalid code: %q", string(b))
}
