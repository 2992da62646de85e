// This file is part of cofaas's stand-in for wit-bindgen-go's runtime
// package (go.bytecodealliance.org/pkg v0.4.0, which is not on the Go module
// proxy). It implements Handle, the owner of a resource handle, as the
// bindings of wit-bindgen-go 0.63 use it. Nothing is left out.

// Package runtime is the support code of the Go bindings that
// wit-bindgen-go generates: resource handles, memory for the canonical ABI
// (Allocate, Unpin and the exported cabi_realloc) and, for cofaas, the GC
// safe point (SafePoint) that keeps Go's collector from running inside
// cabi_realloc.
package runtime

// Handle holds a resource handle (an i32 that is never 0) until it is
// taken.
type Handle struct {
	value int32
}

// MakeHandle returns a Handle holding value; it panics on 0.
func MakeHandle(value int32) *Handle {
	if value == 0 {
		panic("wit: nil handle")
	}
	return &Handle{value: value}
}

// Use returns the handle, which stays held; it panics if none is held.
func (h *Handle) Use() int32 {
	if h.value == 0 {
		panic("wit: nil handle")
	}
	return h.value
}

// Take returns the handle and stops holding it; it panics if none is held.
func (h *Handle) Take() int32 {
	v := h.Use()
	h.value = 0
	return v
}

// TakeOrNil returns the handle, or 0 if none is held, and stops holding
// it.
func (h *Handle) TakeOrNil() int32 {
	v := h.value
	h.value = 0
	return v
}

// Set makes h hold value; it panics on 0 or if h already holds a handle.
func (h *Handle) Set(value int32) {
	if value == 0 {
		panic("wit: nil handle")
	}
	if h.value != 0 {
		panic("wit: handle already set")
	}
	h.value = value
}
