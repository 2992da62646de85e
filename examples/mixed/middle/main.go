// Middle function of the mixed app (Rust → Go → Rust).
//
// Serves mixed.Middle. Transform uppercases the job's words and puts them in
// reverse order, sums its numbers, stores the result with the Rust back
// (mixed.Back/Store) and reports back's digest. Special job names:
//
//   - "panic": the handler panics (natively this kills the process, as
//     grpc-go does not recover handler panics);
//   - "go-error": FAILED_PRECONDITION with a google.rpc.ErrorInfo detail;
//   - "rust-error": back refuses the record; its status, as status.FromError
//     reads it, is reported inside a successful Report;
//   - "deadline": asks the Go clock, with a 3 s timeout, what deadline it
//     sees, and reports its reading;
//   - "deadline-exceeded": asks the clock to wait past a 300 ms timeout and
//     reports the status code the call failed with;
//   - "sleep": sleeps for a second, ignoring its context, then reports
//     (the front calls it with a 50 ms timeout).
package main

//go:generate sh gen.sh

import (
	"context"
	"fmt"
	"log"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "example.com/mixed/middle/pb/mixed"
)

const (
	defaultListen = "127.0.0.1:50082"
	defaultBack   = "127.0.0.1:50083"
	defaultClock  = "127.0.0.1:50084"

	// callTimeout bounds each call to back.
	callTimeout = 10 * time.Second
)

type server struct {
	pb.UnimplementedMiddleServer
	back  pb.BackClient
	clock pb.ClockClient
}

func (s *server) Transform(ctx context.Context, job *pb.Job) (*pb.Report, error) {
	switch job.GetName() {
	case "panic":
		panic(fmt.Sprintf("middle was asked to panic by job %q", job.GetId()))
	case "go-error":
		st, err := status.New(codes.FailedPrecondition, "middle refused the job").
			WithDetails(&errdetails.ErrorInfo{
				Reason:   "REFUSED",
				Domain:   "mixed.example",
				Metadata: map[string]string{"job": job.GetId()},
			})
		if err != nil {
			return nil, status.Errorf(codes.Internal, "attaching details: %v", err)
		}
		return nil, st.Err()
	case "deadline":
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		reading, err := s.clock.Remaining(ctx, &pb.Probe{})
		if err != nil {
			return nil, err
		}
		return &pb.Report{JobId: job.GetId(), Clock: reading, Trail: []string{"clock", "middle"}}, nil
	case "sleep":
		time.Sleep(time.Second)
		return &pb.Report{JobId: job.GetId(), Trail: []string{"middle"}}, nil
	case "deadline-exceeded":
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		_, err := s.clock.Remaining(ctx, &pb.Probe{Wait: true})
		return &pb.Report{
			JobId:    job.GetId(),
			Upstream: &pb.UpstreamError{Code: int32(status.Code(err))},
			Trail:    []string{"middle"},
		}, nil
	}

	words := make([]string, 0, len(job.GetWords()))
	for _, w := range slices.Backward(job.GetWords()) {
		words = append(words, strings.ToUpper(w))
	}
	var sum int64
	for _, n := range job.GetNumbers() {
		sum += n
	}
	labels := maps.Clone(job.GetLabels())
	if labels == nil {
		labels = map[string]string{}
	}
	labels["middle"] = "go"
	// Request metadata, as the caller (Front) sent it.
	incoming, _ := metadata.FromIncomingContext(ctx)
	if v := incoming.Get("x-job-id"); len(v) > 0 {
		labels["middle-saw-x-job-id"] = strings.Join(v, ",")
	}
	if v := incoming.Get("trace-bin"); len(v) > 0 {
		labels["middle-saw-trace-bin"] = fmt.Sprintf("%x", v[0])
	}
	// Response metadata for Front: a header and a trailer.
	if err := grpc.SetHeader(ctx, metadata.Pairs("x-middle", "header")); err != nil {
		return nil, err
	}
	if err := grpc.SetTrailer(ctx, metadata.Pairs("x-middle-trailer", "trailer")); err != nil {
		return nil, err
	}
	report := &pb.Report{
		JobId:    job.GetId(),
		Words:    words,
		Sum:      sum,
		Priority: job.GetPriority(),
		Labels:   labels,
	}

	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	// Metadata for Back (ASCII and binary); Back's response headers back.
	ctx = metadata.AppendToOutgoingContext(ctx, "x-from-middle", "go", "trace-bin", string([]byte{0, 1, 0xff}))
	var header metadata.MD
	stored, err := s.back.Store(ctx, &pb.Record{
		Name:     job.GetName(),
		Items:    words,
		Data:     job.GetPayload(),
		Tags:     job.GetLabels(),
		Priority: job.GetPriority(),
		Owner:    job.GetOwner(),
		Sum:      sum,
	}, grpc.Header(&header))
	if v := header.Get("x-back"); len(v) > 0 {
		labels["middle-got-x-back"] = strings.Join(v, ",")
	}
	if err != nil {
		if job.GetName() != "rust-error" {
			return nil, err
		}
		report.Upstream, err = upstreamError(err)
		if err != nil {
			return nil, err
		}
		report.Trail = []string{"middle"}
		return report, nil
	}
	report.Stored = stored
	report.Trail = []string{"back", "middle"}
	return report, nil
}

// upstreamError describes a failed call as grpc-go reports it.
func upstreamError(callErr error) (*pb.UpstreamError, error) {
	st, ok := status.FromError(callErr)
	if !ok {
		return nil, status.Errorf(codes.Internal, "not a gRPC status: %v", callErr)
	}
	encoded, err := proto.Marshal(st.Proto())
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encoding the status: %v", err)
	}
	up := &pb.UpstreamError{
		Code:    int32(st.Code()),
		Message: st.Message(),
		Status:  encoded,
	}
	for _, detail := range st.Details() {
		if info, ok := detail.(*errdetails.ErrorInfo); ok {
			up.Reason = info.GetReason()
			up.Domain = info.GetDomain()
			up.Metadata = info.GetMetadata()
		}
	}
	return up, nil
}

func getenv(key, fallback string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return fallback
}

func main() {
	addr := getenv("MIDDLE_LISTEN", defaultListen)
	backAddr := getenv("BACK_ADDR", defaultBack)
	clockAddr := getenv("CLOCK_ADDR", defaultClock)

	conn, err := grpc.NewClient(backAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatalf("did not connect to back at %s: %v", backAddr, err)
	}
	defer conn.Close()
	clockConn, err := grpc.NewClient(clockAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatalf("did not connect to clock at %s: %v", clockAddr, err)
	}
	defer clockConn.Close()

	lis, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("failed to listen: %v", err)
	}
	s := grpc.NewServer()
	pb.RegisterMiddleServer(s, &server{back: pb.NewBackClient(conn), clock: pb.NewClockClient(clockConn)})
	log.Printf("middle listening on %v (back at %s)", lis.Addr(), backAddr)
	if err := s.Serve(lis); err != nil {
		log.Fatalf("failed to serve: %v", err)
	}
}
