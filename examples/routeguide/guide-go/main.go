// Guide function of the routeguide app in Go: the grpc-go twin of
// examples/routeguide/guide.
//
// Serves routeguide.RouteGuide, all four kinds of rpc, over the standard
// feature database of the gRPC examples (data/, 100 features, embedded).
// Written as grpc-go's examples/route_guide/server is, with the Rust guide's
// behaviour: its replies are the same, byte for byte. GetFeature gives the
// feature at a point (or a nameless one there), ListFeatures streams the
// features in a rectangle in database order, RecordRoute sums up a route,
// RouteChat answers each note with the earlier notes at its location. One
// addition for the tests: a caller may cap ListFeatures with the
// `x-max-features` header; past the cap the stream ends with
// RESOURCE_EXHAUSTED after the features it sent.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"io"
	"log"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "example.com/routeguide/guide-go/pb/routeguide"
)

const defaultListen = "127.0.0.1:10000"

// dbJSON is the feature database, a copy of ../guide/data/route_guide_db.json.
//
//go:embed data/route_guide_db.json
var dbJSON []byte

type routeGuideServer struct {
	pb.UnimplementedRouteGuideServer
	savedFeatures []*pb.Feature // read only after initialization
}

// GetFeature returns the feature at the given point, or a feature with an
// empty name at that point.
func (s *routeGuideServer) GetFeature(_ context.Context, point *pb.Point) (*pb.Feature, error) {
	for _, feature := range s.savedFeatures {
		if samePoint(feature.GetLocation(), point) {
			return feature, nil
		}
	}
	return &pb.Feature{Location: copyPoint(point)}, nil
}

// ListFeatures streams, in database order, the features within the given
// rectangle. An `x-max-features: N` header caps the stream: the feature
// after the Nth ends it with RESOURCE_EXHAUSTED instead.
func (s *routeGuideServer) ListFeatures(rect *pb.Rectangle, stream pb.RouteGuide_ListFeaturesServer) error {
	capped, limit := false, uint64(0)
	if md, ok := metadata.FromIncomingContext(stream.Context()); ok {
		if v := md.Get("x-max-features"); len(v) > 0 {
			n, err := parseCount(v[0])
			if err != nil {
				return status.Error(codes.InvalidArgument, "x-max-features is not a number")
			}
			capped, limit = true, n
		}
	}
	// The response headers go out now, before any feature or error, as
	// tonic's do once the Rust guide has handed out its stream: an error
	// past the cap ends a stream that has begun, even at a cap of 0.
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	sent := uint64(0)
	for _, feature := range s.savedFeatures {
		if feature.GetLocation() == nil || !inRange(feature.GetLocation(), rect) {
			continue
		}
		if capped && sent == limit {
			return status.Errorf(codes.ResourceExhausted, "more than %d features", sent)
		}
		if err := stream.Send(feature); err != nil {
			return err // the caller went away
		}
		sent++
	}
	return nil
}

// RecordRoute records the points of a route and, once the caller has sent
// them all, replies with their count, the number of features among them,
// the distance covered and the time taken.
func (s *routeGuideServer) RecordRoute(stream pb.RouteGuide_RecordRouteServer) error {
	var pointCount, featureCount, distance int32
	var lastPoint *pb.Point
	startTime := time.Now()
	for {
		point, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&pb.RouteSummary{
				PointCount:   pointCount,
				FeatureCount: featureCount,
				Distance:     distance,
				ElapsedTime:  int32(time.Since(startTime) / time.Second),
			})
		}
		if err != nil {
			return err
		}
		pointCount++
		for _, feature := range s.savedFeatures {
			if samePoint(feature.GetLocation(), point) {
				featureCount++
				break
			}
		}
		if lastPoint != nil {
			distance += calcDistance(lastPoint, point)
		}
		lastPoint = point
	}
}

// RouteChat answers each note with every earlier note at its location (a
// note without one is at (0, 0)), then keeps it.
func (s *routeGuideServer) RouteChat(stream pb.RouteGuide_RouteChatServer) error {
	// The response headers go out at once, as tonic's do.
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	routeNotes := make(map[[2]int32][]*pb.RouteNote)
	for {
		in, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		key := [2]int32{in.GetLocation().GetLatitude(), in.GetLocation().GetLongitude()}
		for _, note := range routeNotes[key] {
			if err := stream.Send(note); err != nil {
				return err
			}
		}
		routeNotes[key] = append(routeNotes[key], copyNote(in))
	}
}

// samePoint reports whether a location is set and equals the point.
func samePoint(location, point *pb.Point) bool {
	return location != nil &&
		location.GetLatitude() == point.GetLatitude() &&
		location.GetLongitude() == point.GetLongitude()
}

// copyPoint and copyNote copy the fields a message has (not the unknown
// ones it may have carried in), so that a reply holds what the Rust guide's
// would.
func copyPoint(p *pb.Point) *pb.Point {
	if p == nil {
		return nil
	}
	return &pb.Point{Latitude: p.GetLatitude(), Longitude: p.GetLongitude()}
}

func copyNote(n *pb.RouteNote) *pb.RouteNote {
	return &pb.RouteNote{Location: copyPoint(n.GetLocation()), Message: n.GetMessage()}
}

// parseCount parses a count as Rust's usize::from_str does (decimal digits,
// optionally after one '+').
func parseCount(s string) (uint64, error) {
	return strconv.ParseUint(strings.TrimPrefix(s, "+"), 10, 64)
}

func inRange(point *pb.Point, rect *pb.Rectangle) bool {
	lo, hi := rect.GetLo(), rect.GetHi()
	if lo == nil || hi == nil {
		return false
	}
	left := min(lo.GetLongitude(), hi.GetLongitude())
	right := max(lo.GetLongitude(), hi.GetLongitude())
	bottom := min(lo.GetLatitude(), hi.GetLatitude())
	top := max(lo.GetLatitude(), hi.GetLatitude())
	return point.GetLongitude() >= left &&
		point.GetLongitude() <= right &&
		point.GetLatitude() >= bottom &&
		point.GetLatitude() <= top
}

// radPerDeg is the factor of Rust's f64::to_radians: PI / 180 rounded to a
// float64.
var radPerDeg = func() float64 { pi := math.Pi; return pi / 180 }()

func toRadians(deg float64) float64 { return deg * radPerDeg }

// calcDistance is the great-circle distance between two points, in metres
// (haversine), computed in the Rust guide's order of operations. The
// float64() conversions keep the compiler from fusing a multiply and an
// add, which Rust does not do.
func calcDistance(p1, p2 *pb.Point) int32 {
	const coordFactor = 1e7
	const r = 6_371_000.0
	lat1 := toRadians(float64(p1.GetLatitude()) / coordFactor)
	lat2 := toRadians(float64(p2.GetLatitude()) / coordFactor)
	lng1 := toRadians(float64(p1.GetLongitude()) / coordFactor)
	lng2 := toRadians(float64(p2.GetLongitude()) / coordFactor)
	dlat, dlng := lat2-lat1, lng2-lng1
	sdlat, sdlng := math.Sin(dlat/2), math.Sin(dlng/2)
	h := float64(sdlat*sdlat) + float64(float64(math.Cos(lat1)*math.Cos(lat2))*float64(sdlng*sdlng))
	return int32(r * 2 * math.Atan2(math.Sqrt(h), math.Sqrt(1-h)))
}

// dbFeature is a feature as the database file spells it.
type dbFeature struct {
	Location struct {
		Latitude  int32 `json:"latitude"`
		Longitude int32 `json:"longitude"`
	} `json:"location"`
	Name string `json:"name"`
}

// loadFeatures reads the embedded feature database.
func loadFeatures() ([]*pb.Feature, error) {
	var db struct {
		Feature []dbFeature `json:"feature"`
	}
	if err := json.Unmarshal(dbJSON, &db); err != nil {
		return nil, err
	}
	features := make([]*pb.Feature, 0, len(db.Feature))
	for _, f := range db.Feature {
		features = append(features, &pb.Feature{
			Name:     f.Name,
			Location: &pb.Point{Latitude: f.Location.Latitude, Longitude: f.Location.Longitude},
		})
	}
	return features, nil
}

func newServer() *routeGuideServer {
	features, err := loadFeatures()
	if err != nil {
		log.Fatalf("failed to load the feature database: %v", err)
	}
	return &routeGuideServer{savedFeatures: features}
}

func main() {
	addr := defaultListen
	if v, ok := os.LookupEnv("GUIDE_LISTEN"); ok {
		addr = v
	}

	lis, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("failed to listen: %v", err)
	}
	s := grpc.NewServer()
	pb.RegisterRouteGuideServer(s, newServer())
	log.Printf("guide listening on %v", lis.Addr())
	if err := s.Serve(lis); err != nil {
		log.Fatalf("failed to serve: %v", err)
	}
}
