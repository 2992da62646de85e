// Pricing function of the typeshow-go example: the Go twin of
// examples/typeshow/pricing, a test fixture for cofaas.
//
// Serves shop.Pricing. Quote reads every field of the order (so each type
// must arrive intact), totals it, and echoes the order back inside the quote
// (so each type must also travel back). An order without lines is refused
// with INVALID_ARGUMENT. Every reply is the one the Rust pricing gives: the
// notes are formatted as Rust formats them (enum values by their prost
// variant names, floats in Rust's `Display` form), arithmetic wraps as in a
// release build, and unknown fields are dropped before the order is echoed,
// as prost drops them when decoding.
package main

//go:generate sh gen.sh

import (
	"context"
	"fmt"
	"log"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "example.com/typeshow/pricing-go/pb/shop"
)

const defaultListen = "127.0.0.1:50072"

type server struct {
	pb.UnimplementedPricingServer
}

// priorityNames are the names prost gives the values of shop.Order.Priority
// (the enum's name stripped off, in upper camel case), which the Rust pricing
// prints with `{:?}`.
var priorityNames = map[pb.Order_Priority]string{
	pb.Order_PRIORITY_UNSPECIFIED: "Unspecified",
	pb.Order_PRIORITY_LOW:         "Low",
	pb.Order_PRIORITY_HIGH:        "High",
}

// priorityName is prost's `order.priority()`, debug-printed: a number the
// enum does not name reads as the default value.
func priorityName(p pb.Order_Priority) string {
	if name, ok := priorityNames[p]; ok {
		return name
	}
	return priorityNames[pb.Order_PRIORITY_UNSPECIFIED]
}

// historyNames is prost's `order.history()`, debug-printed as a Vec: numbers
// the enum does not name are skipped.
func historyNames(history []pb.Order_Priority) string {
	names := []string{}
	for _, p := range history {
		if name, ok := priorityNames[p]; ok {
			names = append(names, name)
		}
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// rustFloat formats f as Rust's `Display` does: the shortest digits that
// read back as the same value, never in exponent form.
func rustFloat(f float64, bitSize int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'f', -1, bitSize)
}

// depth is the depth of a category tree.
func depth(category *pb.Category) int {
	deepest := 0
	for _, child := range category.GetChildren() {
		deepest = max(deepest, depth(child))
	}
	return 1 + deepest
}

// discardUnknown drops the unknown fields of m and of every message in it,
// as prost does when it decodes (the Go runtime keeps them, and would send
// them back in the echoed order).
func discardUnknown(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					discardUnknown(mv.Message())
					return true
				})
			}
		case fd.IsList():
			if fd.Message() != nil {
				list := v.List()
				for i := range list.Len() {
					discardUnknown(list.Get(i).Message())
				}
			}
		case fd.Message() != nil:
			discardUnknown(v.Message())
		}
		return true
	})
	if m.GetUnknown() != nil {
		m.SetUnknown(nil)
	}
}

func (s *server) Quote(_ context.Context, order *pb.Order) (*pb.Quote, error) {
	if len(order.GetLines()) == 0 {
		return nil, status.Errorf(codes.InvalidArgument, "order %s has no lines", order.GetId())
	}
	var total int64
	for _, line := range order.GetLines() {
		total += int64(line.GetUnitPriceMicros()) * int64(line.GetQuantity())
	}
	coupons := make([]string, 0, len(order.GetCoupons()))
	for code := range order.GetCoupons() {
		coupons = append(coupons, code)
	}
	slices.Sort(coupons)
	notes := []string{"priority " + priorityName(order.GetPriority())}
	for _, code := range coupons {
		off := order.GetCoupons()[code]
		total -= off
		notes = append(notes, fmt.Sprintf("coupon %s: -%d", code, off))
	}
	for _, line := range order.GetLines() {
		if line.Note != nil {
			notes = append(notes, fmt.Sprintf("%s: %s", line.GetSku(), line.GetNote()))
		}
	}
	cardsByLine := map[uint32]*pb.Card{}
	switch payment := order.GetPayment().(type) {
	case *pb.Order_Card:
		last4 := []rune(payment.Card.GetNumber())
		last4 = last4[max(len(last4)-4, 0):]
		notes = append(notes, "card ending "+string(last4))
		for i := range order.GetLines() {
			// An empty card is still a card, as Some(Card::default()) is.
			card := payment.Card
			if card == nil {
				card = &pb.Card{}
			}
			cardsByLine[uint32(i)] = card
		}
	case *pb.Order_Voucher:
		notes = append(notes, "voucher "+payment.Voucher)
	default:
		notes = append(notes, "unpaid")
	}
	if gift := order.GetGiftMessage(); gift != nil {
		notes = append(notes, "gift message: "+gift.GetValue())
	}
	if parcels := order.GetMaxParcels(); parcels != nil {
		notes = append(notes, fmt.Sprintf("at most %d parcels", parcels.GetValue()))
	}
	if category := order.GetCategory(); category != nil {
		notes = append(notes, fmt.Sprintf("category %s of depth %d", category.GetName(), depth(category)))
	}
	if ext := order.GetExtension(); ext != nil {
		notes = append(notes, fmt.Sprintf("extension %s (%d bytes)", ext.GetTypeUrl(), len(ext.GetValue())))
	}
	if attributes := order.GetAttributes(); attributes != nil {
		keys := make([]string, 0, len(attributes.GetFields()))
		for key := range attributes.GetFields() {
			keys = append(keys, key)
		}
		slices.Sort(keys)
		notes = append(notes, "attributes "+strings.Join(keys, ","))
	}
	if mask := order.GetFields(); mask != nil {
		notes = append(notes, "fields "+strings.Join(mask.GetPaths(), ","))
	}
	if sc := order.GetScalars(); sc != nil {
		notes = append(notes, fmt.Sprintf("scalars %s %s %d %d %d %d %d %d %d %d %d %d %t %s %d",
			rustFloat(sc.GetF64(), 64),
			rustFloat(float64(sc.GetF32()), 32),
			sc.GetI32(),
			sc.GetI64(),
			sc.GetU32(),
			sc.GetU64(),
			sc.GetS32(),
			sc.GetS64(),
			sc.GetFx32(),
			sc.GetFx64(),
			sc.GetSfx32(),
			sc.GetSfx64(),
			sc.GetFlag(),
			sc.GetText(),
			len(sc.GetData())))
	}
	notes = append(notes, "history "+historyNames(order.GetHistory()))
	if order.LoyaltyLevel != nil {
		notes = append(notes, fmt.Sprintf("loyalty %d", order.GetLoyaltyLevel()))
	}
	notes = append(notes, fmt.Sprintf("blob %d bytes", len(order.GetBlob())))
	switch bonus := order.GetBonus().(type) {
	case *pb.Order_Surprise:
		notes = append(notes, "bonus: a surprise")
	case *pb.Order_Points:
		notes = append(notes, fmt.Sprintf("bonus: %d points", bonus.Points.GetValue()))
	case *pb.Order_Code:
		notes = append(notes, "bonus: code "+bonus.Code)
	}
	counts := make([]string, len(order.GetCounts()))
	for i, c := range order.GetCounts() {
		counts[i] = fmt.Sprint(c.GetValue())
	}
	flags := 0
	for _, f := range order.GetFlags() {
		if f.GetValue() {
			flags++
		}
	}
	tag := "none"
	if order.GetTag() != nil {
		tag = order.GetTag().GetLabel()
	}
	notes = append(notes, fmt.Sprintf("%d gift(s), wrapped %t, counts [%s], %d flag(s), tag %s",
		len(order.GetGifts())+len(order.GetGiftByLine()), order.GetWrapping() != nil,
		strings.Join(counts, ", "), flags, tag))
	var deliverBy *timestamppb.Timestamp
	if at, within := order.GetPlacedAt(), order.GetDeliverWithin(); at != nil && within != nil {
		deliverBy = &timestamppb.Timestamp{
			Seconds: at.GetSeconds() + within.GetSeconds(),
			Nanos:   at.GetNanos(),
		}
	}
	discardUnknown(order.ProtoReflect())
	return &pb.Quote{
		Order:       order,
		TotalMicros: total,
		Notes:       notes,
		DeliverBy:   deliverBy,
		CardsByLine: cardsByLine,
	}, nil
}

func (s *server) Ping(_ context.Context, _ *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func main() {
	addr := defaultListen
	if v, ok := os.LookupEnv("PRICING_LISTEN"); ok {
		addr = v
	}

	lis, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("failed to listen: %v", err)
	}
	s := grpc.NewServer()
	pb.RegisterPricingServer(s, &server{})
	log.Printf("pricing listening on %v", lis.Addr())
	if err := s.Serve(lis); err != nil {
		log.Fatalf("failed to serve: %v", err)
	}
}
