// This file is part of cofaas's stand-in for wit-bindgen-go's runtime package: tests of Option,
// Result and the tuples.

package wit_types

import "testing"

func TestOption(t *testing.T) {
	n := None[string]()
	if n.Tag() != OptionNone || !n.IsNone() || n.IsSome() || n.SomeOr("x") != "x" {
		t.Fatal("None")
	}
	s := Some("v")
	if s.Tag() != OptionSome || !s.IsSome() || s.Some() != "v" || s.SomeOr("x") != "v" {
		t.Fatal("Some")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Some() of None did not panic")
		}
	}()
	n.Some()
}

func TestResult(t *testing.T) {
	ok := Ok[int, string](3)
	if ok.Tag() != ResultOk || !ok.IsOk() || ok.IsErr() || ok.Ok() != 3 {
		t.Fatal("Ok")
	}
	e := Err[Unit, string]("bad")
	if e.Tag() != ResultErr || !e.IsErr() || e.Err() != "bad" {
		t.Fatal("Err")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Ok() of Err did not panic")
		}
	}()
	e.Ok()
}

func TestTuple(t *testing.T) {
	v := Tuple16[int, int, int, int, int, int, int, int, int, int, int, int, int, int, int, string]{F0: 1, F15: "last"}
	if v.F0 != 1 || v.F15 != "last" {
		t.Fatal("Tuple16")
	}
	_ = Tuple2[string, Unit]{F0: "a", F1: Unit{}}
}
