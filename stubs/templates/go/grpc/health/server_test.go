// This file is part of cofaas's stand-in for grpc-go: tests of the health server, served through
// cofaas.UnaryCall.

package health_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/cofaas"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

var hs = health.NewServer()

func init() {
	cofaas.RegisterMain(func() {
		s := grpc.NewServer()
		healthpb.RegisterHealthServer(s, hs)
		s.Serve(nil)
	})
}

func TestHealthThroughUnaryCall(t *testing.T) {
	hs.Resume()
	hs.SetServingStatus("svc", healthpb.HealthCheckResponse_NOT_SERVING)

	check := func(service string) (*healthpb.HealthCheckResponse, error) {
		in, _ := proto.Marshal(&healthpb.HealthCheckRequest{Service: service})
		resp, err := cofaas.UnaryCall(context.Background(), healthpb.Health_Check_FullMethodName,
			func(m any) error { return proto.Unmarshal(in, m.(proto.Message)) })
		if err != nil {
			return nil, err
		}
		return resp.(*healthpb.HealthCheckResponse), nil
	}
	if r, err := check(""); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check(\"\") = %v, %v", r, err)
	}
	if r, err := check("svc"); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("Check(svc) = %v, %v", r, err)
	}
	if _, err := check("nope"); status.Code(err) != codes.NotFound {
		t.Fatalf("Check(nope) = %v", err)
	}
	hs.Shutdown()
	hs.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)
	if r, _ := check("svc"); r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("status after Shutdown = %v", r)
	}
	hs.Resume()
	l, err := hs.List(context.Background(), &healthpb.HealthListRequest{})
	if err != nil || len(l.GetStatuses()) != 2 || l.GetStatuses()["svc"].GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("List = %v, %v", l, err)
	}
	if _, err := cofaas.UnaryCall(context.Background(), healthpb.Health_Watch_FullMethodName, func(any) error { return nil }); status.Code(err) != codes.Internal {
		t.Fatalf("Watch = %v", err)
	}
}
