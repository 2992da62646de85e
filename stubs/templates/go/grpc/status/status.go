// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// It implements package status: Status backed by a google.rpc.Status proto,
// the status errors (Error, GRPCStatus, Is) and the conversions from errors
// (FromError unwraps wrapped status errors as grpc-go >= 1.55 does, Convert,
// Code, FromContextError). Nothing of grpc-go's public status API is left out.

// Package status implements errors returned by gRPC. These errors are
// serialized and transmitted on the wire between server and client, and
// allow for additional data to be transmitted via the Details field in the
// status proto.
package status

import (
	"context"
	"errors"
	"fmt"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/anypb"
)

// Status represents an RPC status code, message, and details. It is
// immutable and should be created with New, Newf, or FromProto.
type Status struct {
	s *spb.Status
}

// New returns a Status representing c and msg.
func New(c codes.Code, msg string) *Status {
	return &Status{s: &spb.Status{Code: int32(c), Message: msg}}
}

// Newf returns New(c, fmt.Sprintf(format, a...)).
func Newf(c codes.Code, format string, a ...any) *Status {
	return New(c, fmt.Sprintf(format, a...))
}

// Error returns an error representing c and msg. If c is OK, returns nil.
func Error(c codes.Code, msg string) error {
	return New(c, msg).Err()
}

// Errorf returns Error(c, fmt.Sprintf(format, a...)).
func Errorf(c codes.Code, format string, a ...any) error {
	return Error(c, fmt.Sprintf(format, a...))
}

// ErrorProto returns an error representing s. If s.Code is OK, returns nil.
func ErrorProto(s *spb.Status) error {
	return FromProto(s).Err()
}

// FromProto returns a Status representing s (which is copied).
func FromProto(s *spb.Status) *Status {
	return &Status{s: proto.Clone(s).(*spb.Status)}
}

// grpcStatus is implemented by errors that carry a *Status.
type grpcStatus interface{ GRPCStatus() *Status }

// FromError returns a Status representation of err.
//
//   - If err was produced by this package or implements the method
//     `GRPCStatus() *Status` and GRPCStatus() does not return nil, or if err
//     wraps such an error, the appropriate Status is returned (for a wrapped
//     error, its message is err.Error()). ok is true.
//   - If err is nil, a nil Status (which means OK) is returned with ok true.
//   - Otherwise a Status with codes.Unknown and err's message is returned,
//     with ok false.
func FromError(err error) (s *Status, ok bool) {
	if err == nil {
		return nil, true
	}
	if gs, isGS := err.(grpcStatus); isGS {
		if st := gs.GRPCStatus(); st != nil {
			return st, true
		}
		return New(codes.Unknown, err.Error()), false
	}
	var gs grpcStatus
	if errors.As(err, &gs) {
		st := gs.GRPCStatus()
		if st == nil {
			return New(codes.Unknown, err.Error()), false
		}
		p := st.Proto()
		p.Message = err.Error()
		return &Status{s: p}, true
	}
	return New(codes.Unknown, err.Error()), false
}

// Convert is a convenience function which removes the need to handle the
// boolean return value from FromError.
func Convert(err error) *Status {
	s, _ := FromError(err)
	return s
}

// Code returns the Code of the error if it is a Status error or if it wraps
// a Status error. If that is not the case, it returns codes.OK if err is nil,
// or codes.Unknown otherwise.
func Code(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	return Convert(err).Code()
}

// FromContextError converts a context error or wrapped context error into a
// Status. It returns a Status with codes.OK if err is nil, or a Status with
// codes.Unknown if err is non-nil and not a context error.
func FromContextError(err error) *Status {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return New(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return New(codes.Canceled, err.Error())
	default:
		return New(codes.Unknown, err.Error())
	}
}

// Code returns the status code contained in s (OK for a nil Status).
func (s *Status) Code() codes.Code {
	if s == nil || s.s == nil {
		return codes.OK
	}
	return codes.Code(s.s.Code)
}

// Message returns the message contained in s.
func (s *Status) Message() string {
	if s == nil || s.s == nil {
		return ""
	}
	return s.s.Message
}

// Proto returns a copy of s's status as a google.rpc.Status proto message.
func (s *Status) Proto() *spb.Status {
	if s == nil {
		return nil
	}
	return proto.Clone(s.s).(*spb.Status)
}

// Err returns an immutable error representing s; returns nil if s.Code() is
// OK.
func (s *Status) Err() error {
	if s.Code() == codes.OK {
		return nil
	}
	return &statusError{s: s}
}

// WithDetails returns a new status with the provided details messages
// appended to the status. If any errors are encountered, it returns nil and
// the first error encountered.
func (s *Status) WithDetails(details ...protoadapt.MessageV1) (*Status, error) {
	if s.Code() == codes.OK {
		return nil, errors.New("no error details for status with code OK")
	}
	p := s.Proto()
	for _, d := range details {
		a, err := anypb.New(protoadapt.MessageV2Of(d))
		if err != nil {
			return nil, err
		}
		p.Details = append(p.Details, a)
	}
	return &Status{s: p}, nil
}

// Details returns a slice of details messages attached to the status. If a
// detail cannot be decoded, the error is returned in place of the detail.
func (s *Status) Details() []any {
	if s == nil || s.s == nil {
		return nil
	}
	out := make([]any, 0, len(s.s.Details))
	for _, a := range s.s.Details {
		m, err := a.UnmarshalNew()
		if err != nil {
			out = append(out, err)
			continue
		}
		out = append(out, protoadapt.MessageV1Of(m))
	}
	return out
}

// String returns "rpc error: code = <code> desc = <message>".
func (s *Status) String() string {
	return fmt.Sprintf("rpc error: code = %s desc = %s", s.Code(), s.Message())
}

// statusError is the error produced by Status.Err.
type statusError struct {
	s *Status
}

func (e *statusError) Error() string { return e.s.String() }

// GRPCStatus returns the Status represented by e.
func (e *statusError) GRPCStatus() *Status { return e.s }

// Is implements future errors.Is functionality: a statusError is equivalent
// to another if their status protos are equal.
func (e *statusError) Is(target error) bool {
	t, ok := target.(*statusError)
	if !ok {
		return false
	}
	return proto.Equal(e.s.s, t.s.s)
}
