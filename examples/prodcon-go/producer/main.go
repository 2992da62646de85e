// Producer function of the prodcon-go app: the Go twin of
// examples/prodcon/producer.
//
// Serves helloworld.Greeter. Each SayHello makes `calls` unary
// prodcon.ProducerConsumer/ConsumeByte calls to the consumer, each carrying
// `payload_kib` KiB, and reports how many bytes the consumer received (and,
// on request, the mean call latency). The reply is the same as the Rust
// producer's for the same request.
package main

//go:generate sh gen.sh

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pb "example.com/prodcon-go/producer/pb/helloworld"
	prodconpb "example.com/prodcon-go/producer/pb/prodcon"
)

const (
	defaultListen   = "127.0.0.1:50051"
	defaultConsumer = "127.0.0.1:50052"

	// maxPayloadKiB is the largest accepted payload_kib: one call must fit
	// in gRPC's default 4 MiB message limit, including the protobuf framing.
	maxPayloadKiB = 4095

	// callTimeout bounds each ConsumeByte call.
	callTimeout = 10 * time.Second
)

type server struct {
	pb.UnimplementedGreeterServer
	consumer prodconpb.ProducerConsumerClient
}

func (s *server) SayHello(ctx context.Context, req *pb.HelloRequest) (*pb.HelloReply, error) {
	if req.GetPayloadKib() > maxPayloadKiB {
		return nil, status.Errorf(codes.InvalidArgument,
			"payload_kib must be at most %d, got %d", maxPayloadKiB, req.GetPayloadKib())
	}
	calls := max(req.GetCalls(), 1)
	kib := req.GetPayloadKib()
	payload := make([]byte, int(kib)*1024)
	for i := range payload {
		payload[i] = byte(i)
	}

	var bytesConsumed uint64
	var total time.Duration
	for range calls {
		start := time.Now()
		reply, err := s.consume(ctx, payload)
		total += time.Since(start)
		if err != nil {
			// Returned unchanged: the caller sees the consumer's status.
			return nil, err
		}
		if !reply.GetValue() {
			return nil, status.Error(codes.Internal, "consumer rejected the payload")
		}
		if reply.GetLength() < 0 {
			return nil, status.Errorf(codes.Internal, "consumer reported length %d", reply.GetLength())
		}
		bytesConsumed += uint64(reply.GetLength())
	}

	var meanLatencyNs uint64
	if req.GetMeasureLatency() {
		meanLatencyNs = uint64(total.Nanoseconds()) / uint64(calls)
	}
	return &pb.HelloReply{
		Message: fmt.Sprintf("Hello %s! %d call(s) of %d KiB consumed, %d bytes received",
			req.GetName(), calls, kib, bytesConsumed),
		BytesConsumed: bytesConsumed,
		MeanLatencyNs: meanLatencyNs,
	}, nil
}

// consume makes one ConsumeByte call.
func (s *server) consume(ctx context.Context, payload []byte) (*prodconpb.ConsumeByteReply, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return s.consumer.ConsumeByte(ctx, &prodconpb.ConsumeByteRequest{Value: payload})
}

func getenv(key, fallback string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return fallback
}

func main() {
	addr := getenv("PRODUCER_LISTEN", defaultListen)
	consumerAddr := getenv("CONSUMER_ADDR", defaultConsumer)

	conn, err := grpc.NewClient(consumerAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatalf("did not connect to the consumer at %s: %v", consumerAddr, err)
	}
	defer conn.Close()

	lis, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("failed to listen: %v", err)
	}
	s := grpc.NewServer()
	pb.RegisterGreeterServer(s, &server{consumer: prodconpb.NewProducerConsumerClient(conn)})
	log.Printf("producer listening on %v (consumer at %s)", lis.Addr(), consumerAddr)
	if err := s.Serve(lis); err != nil {
		log.Fatalf("failed to serve: %v", err)
	}
}
