// Consumer function of the prodcon-go app: the Go twin of
// examples/prodcon/consumer.
//
// Serves prodcon.ProducerConsumer: ConsumeByte accepts any payload and
// reports how many bytes it received.
package main

//go:generate sh gen.sh

import (
	"context"
	"log"
	"net"
	"os"

	"google.golang.org/grpc"

	pb "example.com/prodcon-go/consumer/pb/prodcon"
)

const defaultListen = "127.0.0.1:50052"

type server struct {
	pb.UnimplementedProducerConsumerServer
}

func (s *server) ConsumeByte(_ context.Context, req *pb.ConsumeByteRequest) (*pb.ConsumeByteReply, error) {
	return &pb.ConsumeByteReply{Value: true, Length: int64(len(req.GetValue()))}, nil
}

func main() {
	addr := defaultListen
	if v, ok := os.LookupEnv("CONSUMER_LISTEN"); ok {
		addr = v
	}

	lis, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("failed to listen: %v", err)
	}
	s := grpc.NewServer()
	pb.RegisterProducerConsumerServer(s, &server{})
	log.Printf("consumer listening on %v", lis.Addr())
	if err := s.Serve(lis); err != nil {
		log.Fatalf("failed to serve: %v", err)
	}
}
