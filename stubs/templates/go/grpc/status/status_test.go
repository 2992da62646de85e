// This file is part of cofaas's stand-in for grpc-go: tests of package status (errors, FromError with
// wrapped errors, FromContextError, details).

package status

import (
	"context"
	"errors"
	"fmt"
	"testing"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestErrorAndFromError(t *testing.T) {
	err := Errorf(codes.NotFound, "no %s", "thing")
	if got, want := err.Error(), "rpc error: code = NotFound desc = no thing"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	s, ok := FromError(err)
	if !ok || s.Code() != codes.NotFound || s.Message() != "no thing" {
		t.Fatalf("FromError = %v, %v", s, ok)
	}
	if Error(codes.OK, "x") != nil {
		t.Fatal("OK status gave an error")
	}
	if s, ok := FromError(nil); !ok || s.Code() != codes.OK {
		t.Fatalf("FromError(nil) = %v, %v", s, ok)
	}
	if s, ok := FromError(errors.New("plain")); ok || s.Code() != codes.Unknown || s.Message() != "plain" {
		t.Fatalf("FromError(plain) = %v, %v", s, ok)
	}
	wrapped := fmt.Errorf("wrapping: %w", err)
	if s, ok := FromError(wrapped); !ok || s.Code() != codes.NotFound || s.Message() != wrapped.Error() {
		t.Fatalf("FromError(wrapped) = %v, %v", s, ok)
	}
	if Code(wrapped) != codes.NotFound || Code(nil) != codes.OK {
		t.Fatal("Code")
	}
	if !errors.Is(wrapped, Error(codes.NotFound, "no thing")) || errors.Is(err, Error(codes.NotFound, "other")) {
		t.Fatal("Is")
	}
}

func TestFromContextError(t *testing.T) {
	if FromContextError(nil).Code() != codes.OK {
		t.Fatal("nil")
	}
	if FromContextError(fmt.Errorf("x: %w", context.DeadlineExceeded)).Code() != codes.DeadlineExceeded {
		t.Fatal("deadline")
	}
	if FromContextError(context.Canceled).Code() != codes.Canceled {
		t.Fatal("canceled")
	}
	if FromContextError(errors.New("e")).Code() != codes.Unknown {
		t.Fatal("other")
	}
}

func TestDetails(t *testing.T) {
	if _, err := New(codes.OK, "").WithDetails(durationpb.New(1)); err == nil {
		t.Fatal("details on OK accepted")
	}
	s, err := New(codes.Aborted, "retry").WithDetails(durationpb.New(5e9))
	if err != nil {
		t.Fatal(err)
	}
	d := s.Details()
	if len(d) != 1 {
		t.Fatalf("Details() = %v", d)
	}
	if dp, ok := d[0].(*durationpb.Duration); !ok || dp.AsDuration().Seconds() != 5 {
		t.Fatalf("detail = %#v", d[0])
	}
	p := s.Proto()
	p.Message = "changed"
	if s.Message() != "retry" {
		t.Fatal("Proto() did not copy")
	}
	s2 := FromProto(&spb.Status{Code: int32(codes.Aborted), Message: "retry", Details: p.Details})
	if !proto.Equal(s2.Proto().Details[0], s.Proto().Details[0]) {
		t.Fatal("FromProto lost details")
	}
	if ErrorProto(&spb.Status{}) != nil {
		t.Fatal("ErrorProto(OK) != nil")
	}
}
