// Package fuzzconv fuzzes the Go converters' support package (cofaas_conv,
// grpc-shim-gen/src/go/conv.go, reached here through a symlink): bytes are
// decoded into a protobuf-go message of the typeshow example, converted to a
// WIT value by the rules cofaas maps with (records, options for presence
// and wrappers, lists, sorted map entries, oneof variants, closed enums,
// field masks as paths, recursive back-edges carried encoded), and back.
// The message that comes back must equal the decoded one (its unknown
// fields aside: WIT has no place for them), or the input must be refused
// with INVALID_ARGUMENT, as a generated function refuses a request.
//
// `go test` runs the seeds; `go test -fuzz=FuzzRoundTrip` fuzzes
// (fuzz/campaign.sh does).
package fuzzconv

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"testing"

	conv "cofaas.invalid/fuzz/conv/cofaas_conv"
	"example.com/typeshow/pricing-go/pb/shop"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The WIT values, as the generated converters hold them.
type (
	record []any // fields, in declaration order
	option struct {
		some bool
		v    any
	} // presence
	list    []any              // repeated fields, map entries
	entry   struct{ k, v any } // a map entry (a tuple)
	variant struct {           // a set oneof: its case, its value
		c int
		v any
	}
	enumCase int    // a named enum value, by position
	encoded  []byte // a recursive back-edge, protobuf-encoded
)

// messages are the typeshow messages an input may be.
var messages = []func() proto.Message{
	func() proto.Message { return &shop.Order{} },
	func() proto.Message { return &shop.Quote{} },
	func() proto.Message { return &shop.Receipt{} },
	func() proto.Message { return &shop.Category{} },
	func() proto.Message { return &shop.Scalars{} },
}

const (
	fieldMask = "google.protobuf.FieldMask"
	wrappers  = "google.protobuf."
)

// isWrapper reports whether md is a google.protobuf wrapper (Int32Value, ...).
func isWrapper(md protoreflect.MessageDescriptor) bool {
	switch md.FullName() {
	case wrappers + "DoubleValue", wrappers + "FloatValue", wrappers + "Int64Value",
		wrappers + "UInt64Value", wrappers + "Int32Value", wrappers + "UInt32Value",
		wrappers + "BoolValue", wrappers + "StringValue", wrappers + "BytesValue":
		return true
	}
	return false
}

// toWIT converts m; stack holds the messages being converted (a message
// met again inside itself is a back-edge, carried encoded).
func toWIT(m protoreflect.Message, stack []protoreflect.FullName) (any, error) {
	md := m.Descriptor()
	if slices.Contains(stack, md.FullName()) {
		b, err := conv.Encode(m)
		return encoded(b), err
	}
	stack = append(stack, md.FullName())
	var r record
	fields := md.Fields()
	for i := range fields.Len() {
		fd := conv.Field(fields, fields.Get(i).Number(), string(fields.Get(i).Name()))
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if od.Fields().Get(0) != fd {
				continue
			}
			which := m.WhichOneof(conv.Oneof(m, string(od.Name())))
			if which == nil {
				r = append(r, option{})
				continue
			}
			v, err := single(which, m.Get(which), stack)
			if err != nil {
				return nil, err
			}
			c := 0
			for od.Fields().Get(c) != which {
				c++
			}
			r = append(r, option{true, variant{c, v}})
			continue
		}
		v, err := field(m, fd, stack)
		if err != nil {
			return nil, err
		}
		r = append(r, v)
	}
	return r, nil
}

// field converts field fd of m.
func field(m protoreflect.Message, fd protoreflect.FieldDescriptor, stack []protoreflect.FullName) (any, error) {
	switch {
	case fd.IsMap():
		var l list
		var err error
		m.Get(fd).Map().Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
			var wv any
			wv, err = single(fd.MapValue(), v, stack)
			l = append(l, entry{k.Interface(), wv})
			return err == nil
		})
		slices.SortFunc(l, func(a, b any) int { return compareKeys(a.(entry).k, b.(entry).k) })
		return l, err
	case fd.IsList():
		src := m.Get(fd).List()
		l := list{}
		for i := range src.Len() {
			v := src.Get(i)
			if fd.Message() != nil && isWrapper(fd.Message()) {
				l = append(l, conv.Unwrap(v).Interface())
				continue
			}
			wv, err := single(fd, v, stack)
			if err != nil {
				return nil, err
			}
			l = append(l, wv)
		}
		return l, nil
	case fd.Message() != nil:
		if !m.Has(fd) {
			return option{}, nil
		}
		switch {
		case isWrapper(fd.Message()):
			return option{true, conv.Get(m, fd).Interface()}, nil
		case fd.Message().FullName() == fieldMask:
			return option{true, conv.FieldMaskPaths(m.Get(fd).Message())}, nil
		}
		v, err := toWIT(m.Get(fd).Message(), stack)
		return option{true, v}, err
	case fd.HasPresence():
		if !m.Has(fd) {
			return option{}, nil
		}
		v, err := single(fd, m.Get(fd), stack)
		return option{true, v}, err
	}
	return single(fd, m.Get(fd), stack)
}

// single converts one value of fd's type (an element, a map value, a oneof
// case).
func single(fd protoreflect.FieldDescriptor, v protoreflect.Value, stack []protoreflect.FullName) (any, error) {
	switch {
	case fd.Enum() != nil:
		ev := fd.Enum().Values().ByNumber(v.Enum())
		if ev == nil {
			return nil, conv.BadEnum(string(fd.FullName()), v.Enum(), string(fd.Enum().FullName()))
		}
		return enumCase(ev.Index()), nil
	case fd.Message() != nil && fd.Message().FullName() == fieldMask:
		return conv.FieldMaskPaths(v.Message()), nil
	case fd.Message() != nil && isWrapper(fd.Message()):
		return conv.Unwrap(v).Interface(), nil
	case fd.Message() != nil:
		return toWIT(v.Message(), stack)
	case fd.Kind() == protoreflect.BytesKind:
		return bytes.Clone(v.Bytes()), nil
	}
	return v.Interface(), nil
}

// compareKeys orders map keys as the converters sort entries.
func compareKeys(a, b any) int {
	switch a := a.(type) {
	case string:
		return cmp.Compare(a, b.(string))
	case bool:
		return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b))
	case int32:
		return cmp.Compare(a, b.(int32))
	case int64:
		return cmp.Compare(a, b.(int64))
	case uint32:
		return cmp.Compare(a, b.(uint32))
	case uint64:
		return cmp.Compare(a, b.(uint64))
	}
	panic(fmt.Sprintf("map key %T", a))
}

// fromWIT fills m from its WIT value r.
func fromWIT(r any, m protoreflect.Message) error {
	if b, ok := r.(encoded); ok {
		return conv.Decode(b, m, string(m.Descriptor().FullName()))
	}
	fields := m.Descriptor().Fields()
	at := 0
	for i := range fields.Len() {
		fd := fields.Get(i)
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if od.Fields().Get(0) != fd {
				continue
			}
			o := r.(record)[at].(option)
			at++
			if o.some {
				c := o.v.(variant)
				which := od.Fields().Get(c.c)
				v, err := value(m, which, c.v)
				if err != nil {
					return err
				}
				m.Set(which, v)
			}
			continue
		}
		w := r.(record)[at]
		at++
		if err := setField(m, fd, w); err != nil {
			return err
		}
	}
	return nil
}

// setField sets field fd of m from its WIT value w.
func setField(m protoreflect.Message, fd protoreflect.FieldDescriptor, w any) error {
	switch {
	case fd.IsMap():
		for _, e := range w.(list) {
			e := e.(entry)
			mm := m.Mutable(fd).Map()
			var v protoreflect.Value
			if fd.MapValue().Message() != nil {
				v = mm.NewValue()
				if err := fill(v.Message(), e.v); err != nil {
					return err
				}
			} else {
				v = scalar(fd.MapValue(), e.v)
			}
			mm.Set(protoreflect.ValueOf(e.k).MapKey(), v)
		}
	case fd.IsList():
		for _, e := range w.(list) {
			l := m.Mutable(fd).List()
			switch {
			case fd.Message() != nil && isWrapper(fd.Message()):
				l.Append(conv.Wrap(l, protoreflect.ValueOf(e)))
			case fd.Message() != nil:
				v := l.NewElement()
				if err := fill(v.Message(), e); err != nil {
					return err
				}
				l.Append(v)
			default:
				l.Append(scalar(fd, e))
			}
		}
	case fd.Message() != nil || fd.HasPresence():
		o := w.(option)
		if !o.some {
			return nil
		}
		switch {
		case fd.Message() != nil && isWrapper(fd.Message()):
			conv.Set(m, fd, protoreflect.ValueOf(o.v))
		case fd.Message() != nil && fd.Message().FullName() == fieldMask:
			conv.SetFieldMaskPaths(m.Mutable(fd).Message(), o.v.([]string))
		default:
			v, err := value(m, fd, o.v)
			if err != nil {
				return err
			}
			m.Set(fd, v)
		}
	default:
		m.Set(fd, scalar(fd, w))
	}
	return nil
}

// value is the protobuf value of one WIT value of fd's type.
func value(m protoreflect.Message, fd protoreflect.FieldDescriptor, w any) (protoreflect.Value, error) {
	if fd.Message() == nil {
		return scalar(fd, w), nil
	}
	v := m.NewField(fd)
	return v, fill(v.Message(), w)
}

// fill fills the message msg from its WIT value w: a wrapper's value, a
// field mask's paths, or a record (or its encoding).
func fill(msg protoreflect.Message, w any) error {
	switch md := msg.Descriptor(); {
	case isWrapper(md):
		msg.Set(md.Fields().ByNumber(1), protoreflect.ValueOf(w))
	case md.FullName() == fieldMask:
		conv.SetFieldMaskPaths(msg, w.([]string))
	default:
		return fromWIT(w, msg)
	}
	return nil
}

// scalar is the protobuf value of a scalar or enum WIT value.
func scalar(fd protoreflect.FieldDescriptor, w any) protoreflect.Value {
	if c, ok := w.(enumCase); ok {
		return protoreflect.ValueOfEnum(fd.Enum().Values().Get(int(c)).Number())
	}
	return protoreflect.ValueOf(w)
}

// dropUnknown clears the unknown fields of m and of every message in it.
func dropUnknown(m protoreflect.Message) {
	m.SetUnknown(nil)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					dropUnknown(mv.Message())
					return true
				})
			}
		case fd.IsList():
			if fd.Message() != nil {
				for i := range v.List().Len() {
					dropUnknown(v.List().Get(i).Message())
				}
			}
		case fd.Message() != nil:
			dropUnknown(v.Message())
		}
		return true
	})
}

// refused fails t unless err is INVALID_ARGUMENT.
func refused(t *testing.T, what string, err error) {
	if code := status.Code(err); code != codes.InvalidArgument {
		t.Fatalf("%s: refused with %v, not INVALID_ARGUMENT: %v", what, code, err)
	}
}

// roundTrip checks one input: decoded as messages[which], to WIT and back.
func roundTrip(t *testing.T, which uint8, b []byte) (converted bool) {
	newMessage := messages[int(which)%len(messages)]
	original := newMessage()
	name := string(original.ProtoReflect().Descriptor().FullName())
	if err := conv.Decode(b, conv.Message(original), name); err != nil {
		refused(t, "decode", err)
		return false
	}
	dropUnknown(original.ProtoReflect())
	w, err := toWIT(conv.Message(original), nil)
	if err != nil {
		refused(t, "to WIT", err)
		return false
	}
	back := newMessage()
	if err := fromWIT(w, conv.Message(back)); err != nil {
		t.Fatalf("%s: its own WIT value does not convert back: %v", name, err)
	}
	if !proto.Equal(original, back) {
		t.Fatalf("%s: not the identity:\n in: %v\nout: %v", name, original, back)
	}
	// (Printed: NaN is not equal to itself.)
	again, err := toWIT(conv.Message(back), nil)
	if err != nil || fmt.Sprint(w) != fmt.Sprint(again) {
		t.Fatalf("%s: the WIT value changed on the way back (%v):\n%#v\n%#v", name, err, w, again)
	}
	if _, err := conv.Reply(back, "/shop.Pricing/Quote"); err != nil {
		t.Fatalf("%s: a converted message is no reply: %v", name, err)
	}
	return true
}

// order is a request using every mapped type.
func order() *shop.Order {
	loyalty := int32(-3)
	note := "fragile"
	attrs, _ := structpb.NewStruct(map[string]any{"gift": true, "tags": []any{"a", 1.5, nil}, "deep": map[string]any{"x": "y"}})
	return &shop.Order{
		Id:            "o-1",
		Lines:         []*shop.Order_Line{{Sku: "s", Quantity: 2, UnitPriceMicros: math.MaxUint64, Note: &note}, {}},
		Coupons:       map[string]int64{"b": -1, "a": 2, "": 0},
		Priority:      shop.Order_PRIORITY_HIGH,
		Payment:       &shop.Order_Card{Card: &shop.Card{Number: "4111", ExpiryMonth: 12}},
		PlacedAt:      &timestamppb.Timestamp{Seconds: 1_700_000_000, Nanos: 5},
		DeliverWithin: durationpb.New(90e9),
		GiftMessage:   wrapperspb.String(""),
		MaxParcels:    wrapperspb.UInt32(7),
		Category:      &shop.Category{Name: "root", Children: []*shop.Category{{Name: "leaf", Children: []*shop.Category{{}}}}},
		Blob:          []byte{0, 0xff},
		Extension:     &anypb.Any{TypeUrl: "type.googleapis.com/shop.Card", Value: []byte{10, 1, 'x'}},
		Attributes:    attrs,
		Fields:        &fieldmaskpb.FieldMask{Paths: []string{"id", "lines.sku"}},
		Scalars:       &shop.Scalars{F64: math.Inf(-1), F32: float32(math.NaN()), I32: math.MinInt32, U64: math.MaxUint64, S64: -1, Flag: true, Text: "é", Data: []byte{}},
		History:       []shop.Order_Priority{shop.Order_PRIORITY_LOW, 0},
		LoyaltyLevel:  &loyalty,
	}
}

// seed is one fuzz input: which message, and its bytes.
type seed struct {
	which uint8
	b     []byte
}

// seeds are encodings of typeshow messages, valid and damaged.
func seeds(t testing.TB) []seed {
	enc := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	full := enc(order())
	voucher := order()
	voucher.Payment = &shop.Order_Voucher{Voucher: "v"}
	voucher.Fields = &fieldmaskpb.FieldMask{}
	quote := &shop.Quote{Order: order(), TotalMicros: -5, Notes: []string{"n", ""}, CardsByLine: map[uint32]*shop.Card{3: {Number: "x"}, 1: {}}}
	badEnum := enc(&shop.Order{Priority: 7})
	return []seed{
		{0, []byte{}},
		{0, full},
		{0, enc(voucher)},
		{0, badEnum},                             // refused: not a Priority
		{0, []byte{0x0a, 0x01, 0xff}},            // refused: id is not UTF-8
		{0, full[:len(full)/2]},                  // refused: cut short
		{0, append(enc(order()), 0xa8, 0x1f, 1)}, // an unknown field
		{1, enc(quote)},                          // Quote
		{2, enc(&shop.Receipt{Quote: quote, Summary: "ok"})},
		{3, enc(order().Category)},                      // Category: back-edges
		{4, enc(order().Scalars)},                       // Scalars
		{0, []byte{0x88, 0x01, 0x05, 0x88, 0x01, 0x01}}, // history: 5 is no Priority
	}
}

// TestSeeds pins what the seeds do: the valid ones convert, the damaged
// ones are refused.
func TestSeeds(t *testing.T) {
	var converted []bool
	for _, s := range seeds(t) {
		converted = append(converted, roundTrip(t, s.which, s.b))
	}
	want := []bool{true, true, true, false, false, false, true, true, true, true, true, false}
	if !slices.Equal(converted, want) {
		t.Fatalf("converted %v, want %v", converted, want)
	}
}

// FuzzRoundTrip: any bytes as any typeshow message convert to WIT and back
// to the same message, or are refused with INVALID_ARGUMENT.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s.which, s.b)
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		roundTrip(t, which, b)
	})
}
