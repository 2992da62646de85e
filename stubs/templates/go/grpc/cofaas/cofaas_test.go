// This file is part of cofaas's stand-in for grpc-go: tests of package cofaas (the WIT rpc-status
// round trip with details; Init is tested in init_test.go).

package cofaas

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestStatusRoundTrip(t *testing.T) {
	st, err := status.New(codes.InvalidArgument, "bad field").WithDetails(
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "name", Description: "empty"}}},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(3 * time.Second)},
	)
	if err != nil {
		t.Fatal(err)
	}
	code, msg, details := StatusToWit(fmt.Errorf("wrapped: %w", st.Err()))
	if code != int32(codes.InvalidArgument) || msg != "wrapped: rpc error: code = InvalidArgument desc = bad field" || len(details) == 0 {
		t.Fatalf("StatusToWit = %d %q %d bytes", code, msg, len(details))
	}
	back := status.Convert(StatusFromWit(code, msg, details))
	if back.Code() != codes.InvalidArgument || back.Message() != msg {
		t.Fatalf("StatusFromWit = %v", back)
	}
	d := back.Details()
	if len(d) != 2 {
		t.Fatalf("details = %v", d)
	}
	if br, ok := d[0].(*errdetails.BadRequest); !ok || br.GetFieldViolations()[0].GetField() != "name" {
		t.Fatalf("detail 0 = %v", d[0])
	}
	if ri, ok := d[1].(*errdetails.RetryInfo); !ok || ri.GetRetryDelay().AsDuration() != 3*time.Second {
		t.Fatalf("detail 1 = %v", d[1])
	}
	if !proto.Equal(back.Proto().Details[0], st.Proto().Details[0]) {
		t.Fatal("detail changed")
	}

	code, msg, details = StatusToWit(status.Error(codes.NotFound, "gone"))
	if code != int32(codes.NotFound) || msg != "gone" || details != nil {
		t.Fatalf("no details: %d %q %v", code, msg, details)
	}
	if err := StatusFromWit(code, msg, []byte{0xff, 0xff}); status.Code(err) != codes.NotFound || len(status.Convert(err).Details()) != 0 {
		t.Fatalf("undecodable details: %v", err)
	}
	if code, msg, details := StatusToWit(nil); code != 0 || msg != "" || details != nil {
		t.Fatal("nil error")
	}
	if StatusFromWit(0, "ignored", nil) != nil {
		t.Fatal("OK gave an error")
	}
	if code, msg, _ := StatusToWit(errors.New("boom")); code != int32(codes.Unknown) || msg != "boom" {
		t.Fatalf("plain error: %d %q", code, msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	<-ctx.Done()
	if code, _, _ := StatusToWit(fmt.Errorf("call: %w", ctx.Err())); code != int32(codes.DeadlineExceeded) {
		t.Fatalf("deadline: %d", code)
	}
	if code, _, _ := StatusToWit(context.Canceled); code != int32(codes.Canceled) {
		t.Fatalf("canceled: %d", code)
	}
}
