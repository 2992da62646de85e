// This file is part of cofaas's stand-in for grpc-go: tests of MD and the metadata contexts.

package metadata

import (
	"context"
	"reflect"
	"testing"
)

func TestMD(t *testing.T) {
	md := Pairs("Key", "a", "KEY", "b", "other", "c")
	if got := md.Get("key"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("Get = %v", got)
	}
	md.Append("Other", "d")
	md.Set("NEW", "x", "y")
	md.Set("new")
	md.Delete("KEY")
	want := MD{"other": {"c", "d"}, "new": {"x", "y"}}
	if !reflect.DeepEqual(md, want) || md.Len() != 2 {
		t.Fatalf("md = %v", md)
	}
	c := md.Copy()
	c["other"][0] = "changed"
	if md["other"][0] != "c" {
		t.Fatal("Copy is shallow")
	}
	if got := New(map[string]string{"A": "1"}); !reflect.DeepEqual(got, MD{"a": {"1"}}) {
		t.Fatalf("New = %v", got)
	}
	if got := Join(MD{"a": {"1"}}, MD{"a": {"2"}, "b": {"3"}}); !reflect.DeepEqual(got, MD{"a": {"1", "2"}, "b": {"3"}}) {
		t.Fatalf("Join = %v", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Pairs with an odd count did not panic")
		}
	}()
	Pairs("a")
}

func TestContexts(t *testing.T) {
	ctx := context.Background()
	if _, ok := FromIncomingContext(ctx); ok {
		t.Fatal("incoming md in empty ctx")
	}
	in := NewIncomingContext(ctx, MD{"Mixed": {"v"}})
	if md, ok := FromIncomingContext(in); !ok || !reflect.DeepEqual(md, MD{"mixed": {"v"}}) {
		t.Fatalf("FromIncomingContext = %v", md)
	}
	if got := ValueFromIncomingContext(in, "mixed"); !reflect.DeepEqual(got, []string{"v"}) {
		t.Fatalf("ValueFromIncomingContext = %v", got)
	}
	out := NewOutgoingContext(ctx, Pairs("a", "1"))
	out = AppendToOutgoingContext(out, "A", "2", "b", "3")
	out2 := AppendToOutgoingContext(out, "c", "4")
	if md, ok := FromOutgoingContext(out); !ok || !reflect.DeepEqual(md, MD{"a": {"1", "2"}, "b": {"3"}}) {
		t.Fatalf("FromOutgoingContext = %v", md)
	}
	if md, _ := FromOutgoingContext(out2); !reflect.DeepEqual(md, MD{"a": {"1", "2"}, "b": {"3"}, "c": {"4"}}) {
		t.Fatalf("FromOutgoingContext(out2) = %v", md)
	}
	if md, ok := FromOutgoingContext(AppendToOutgoingContext(ctx, "k", "v")); !ok || !reflect.DeepEqual(md, MD{"k": {"v"}}) {
		t.Fatalf("append to empty = %v", md)
	}
}
