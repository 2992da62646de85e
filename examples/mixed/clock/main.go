// Clock function of the mixed app: what a Go callee sees of its Go caller's
// deadline.
//
// Serves mixed.Clock. Remaining reports whether the call's context has a
// deadline and how many whole seconds are left; with `wait` it waits until
// the context is done and fails with its status (DEADLINE_EXCEEDED when the
// caller's deadline passes).
package main

//go:generate sh gen.sh

import (
	"context"
	"log"
	"math"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	pb "example.com/mixed/clock/pb/mixed"
)

const defaultListen = "127.0.0.1:50084"

type server struct {
	pb.UnimplementedClockServer
}

func (s *server) Remaining(ctx context.Context, probe *pb.Probe) (*pb.Reading, error) {
	if probe.GetWait() {
		for ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	deadline, ok := ctx.Deadline()
	reading := &pb.Reading{HasDeadline: ok}
	if ok {
		reading.SecondsLeft = uint32(math.Round(time.Until(deadline).Seconds()))
	}
	return reading, nil
}

func main() {
	addr := os.Getenv("CLOCK_LISTEN")
	if addr == "" {
		addr = defaultListen
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("failed to listen: %v", err)
	}
	s := grpc.NewServer()
	pb.RegisterClockServer(s, &server{})
	log.Printf("clock listening on %v", lis.Addr())
	log.Fatal(s.Serve(lis))
}
