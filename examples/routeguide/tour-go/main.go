// Tour function of the routeguide app in Go: the grpc-go twin of
// examples/routeguide/tour.
//
// Serves tour.Tour. One Run calls the guide with all four kinds of rpc, as
// grpc-go's examples/route_guide/client does: a unary GetFeature, a server
// stream (ListFeatures, read in full or only its first `take` features), a
// client stream (RecordRoute) and a bidi stream (RouteChat, its notes sent
// from a goroutine). The report is the same as the Rust tour's for the same
// request.
package main

import (
	"context"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "example.com/routeguide/tour-go/pb/routeguide"
	tourpb "example.com/routeguide/tour-go/pb/tour"
)

const (
	defaultListen = "127.0.0.1:10001"
	defaultGuide  = "127.0.0.1:10000"
)

type tourServer struct {
	tourpb.UnimplementedTourServer
	guide pb.RouteGuideClient
}

// ending is how a stream ended with err: its status's code and message.
func ending(err error) *tourpb.Ending {
	st := status.Convert(err)
	return &tourpb.Ending{Code: int32(st.Code()), Message: st.Message()}
}

func (s *tourServer) Run(ctx context.Context, req *tourpb.TourRequest) (*tourpb.TourReport, error) {
	report := &tourpb.TourReport{}

	point := req.GetPoint()
	if point == nil {
		point = &pb.Point{}
	}
	feature, err := s.guide.GetFeature(ctx, point)
	if err != nil {
		return nil, err
	}
	report.Feature = feature

	if err := s.listFeatures(ctx, req, report); err != nil {
		return nil, err
	}

	summary, err := s.recordRoute(ctx, req.GetRoute())
	if err != nil {
		return nil, err
	}
	report.Summary = summary

	if err := s.routeChat(ctx, req.GetNotes(), report); err != nil {
		return nil, err
	}
	return report, nil
}

// listFeatures lists the request's area into the report, with its
// max_features as the `x-max-features` header, stopping after `take`
// features when take is set.
func (s *tourServer) listFeatures(ctx context.Context, req *tourpb.TourRequest, report *tourpb.TourReport) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // cancels the rest of the stream when we stop early
	if req.MaxFeatures != nil {
		ctx = metadata.AppendToOutgoingContext(ctx, "x-max-features", strconv.FormatUint(uint64(req.GetMaxFeatures()), 10))
	}
	rect := req.GetArea()
	if rect == nil {
		rect = &pb.Rectangle{}
	}
	stream, err := s.guide.ListFeatures(ctx, rect)
	if err != nil {
		return err
	}
	report.ListEnd = &tourpb.Ending{}
	for req.GetTake() == 0 || len(report.Listed) < int(req.GetTake()) {
		feature, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			report.ListEnd = ending(err)
			break
		}
		report.Listed = append(report.Listed, feature)
	}
	return nil
}

// recordRoute sends the route's points and returns the guide's summary.
func (s *tourServer) recordRoute(ctx context.Context, route []*pb.Point) (*pb.RouteSummary, error) {
	stream, err := s.guide.RecordRoute(ctx)
	if err != nil {
		return nil, err
	}
	for _, point := range route {
		if err := stream.Send(point); err != nil {
			if err == io.EOF {
				break // the guide ended the call: CloseAndRecv has its status
			}
			return nil, err
		}
	}
	return stream.CloseAndRecv()
}

// routeChat sends the notes from a goroutine and collects the guide's
// replies into the report.
func (s *tourServer) routeChat(ctx context.Context, notes []*pb.RouteNote, report *tourpb.TourReport) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the sender if the guide ended the stream first
	stream, err := s.guide.RouteChat(ctx)
	if err != nil {
		return err
	}
	go func() {
		for _, note := range notes {
			if err := stream.Send(note); err != nil {
				return // the stream is over; Recv reports how
			}
		}
		stream.CloseSend()
	}()
	report.ChatEnd = &tourpb.Ending{}
	for {
		note, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			report.ChatEnd = ending(err)
			break
		}
		report.Chat = append(report.Chat, note)
	}
	return nil
}

func main() {
	addr := defaultListen
	if v, ok := os.LookupEnv("TOUR_LISTEN"); ok {
		addr = v
	}
	// The Rust tour takes the guide's address as a URL; so may this one.
	guideAddr := defaultGuide
	if v, ok := os.LookupEnv("GUIDE_ADDR"); ok {
		guideAddr = strings.TrimPrefix(v, "http://")
	}

	conn, err := grpc.NewClient(guideAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatalf("did not connect to the guide at %s: %v", guideAddr, err)
	}
	defer conn.Close()

	lis, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("failed to listen: %v", err)
	}
	s := grpc.NewServer()
	tourpb.RegisterTourServer(s, &tourServer{guide: pb.NewRouteGuideClient(conn)})
	log.Printf("tour listening on %v (guide at %s)", lis.Addr(), guideAddr)
	if err := s.Serve(lis); err != nil {
		log.Fatalf("failed to serve: %v", err)
	}
}
