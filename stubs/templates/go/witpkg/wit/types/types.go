// This file is part of cofaas's stand-in for wit-bindgen-go's runtime
// package (go.bytecodealliance.org/pkg v0.4.0, which is not on the Go module
// proxy). It implements package wit/types' Option, Result and Unit, as the
// bindings of wit-bindgen-go 0.63 use them. Left out: the stream and future
// types (StreamReader, FutureReader, Make*Reader/Writer...) and package
// wit/async: cofaas components use no component-model async yet.

// Package wit_types holds the Go forms of WIT's generic types.
package wit_types

// The tags of an Option.
const (
	OptionNone = 0
	OptionSome = 1
)

// Option is WIT's option<T>: None or Some(value).
type Option[T any] struct {
	tag   uint8
	value T
}

// None returns an Option holding no value.
func None[T any]() Option[T] {
	return Option[T]{}
}

// Some returns an Option holding value.
func Some[T any](value T) Option[T] {
	return Option[T]{tag: OptionSome, value: value}
}

// Tag returns OptionNone or OptionSome.
func (o Option[T]) Tag() uint8 { return o.tag }

// IsSome reports whether o holds a value.
func (o Option[T]) IsSome() bool { return o.tag == OptionSome }

// IsNone reports whether o holds no value.
func (o Option[T]) IsNone() bool { return o.tag == OptionNone }

// Some returns the value of o; it panics if o is None.
func (o Option[T]) Some() T {
	if o.tag != OptionSome {
		panic("wit: Some() of an option that is none")
	}
	return o.value
}

// SomeOr returns the value of o, or fallback if o is None.
func (o Option[T]) SomeOr(fallback T) T {
	if o.tag != OptionSome {
		return fallback
	}
	return o.value
}

// The tags of a Result.
const (
	ResultOk  = 0
	ResultErr = 1
)

// Result is WIT's result<T, U>: Ok(T) or Err(U). Both payloads are stored
// unboxed, so making one does not allocate.
type Result[T any, U any] struct {
	tag uint8
	ok  T
	err U
}

// Ok returns a Result holding the success value v.
func Ok[T any, U any](v T) Result[T, U] {
	return Result[T, U]{tag: ResultOk, ok: v}
}

// Err returns a Result holding the error value v.
func Err[T any, U any](v U) Result[T, U] {
	return Result[T, U]{tag: ResultErr, err: v}
}

// Tag returns ResultOk or ResultErr.
func (r Result[T, U]) Tag() uint8 { return r.tag }

// IsOk reports whether r holds a success value.
func (r Result[T, U]) IsOk() bool { return r.tag == ResultOk }

// IsErr reports whether r holds an error value.
func (r Result[T, U]) IsErr() bool { return r.tag == ResultErr }

// Ok returns the success value of r; it panics if r is Err.
func (r Result[T, U]) Ok() T {
	if r.tag != ResultOk {
		panic("wit: Ok() of a result that is err")
	}
	return r.ok
}

// Err returns the error value of r; it panics if r is Ok.
func (r Result[T, U]) Err() U {
	if r.tag != ResultErr {
		panic("wit: Err() of a result that is ok")
	}
	return r.err
}

// Unit is WIT's empty payload (the _ of result<_, E>, say).
type Unit struct{}
