//go:build !wasm

// This file is part of cofaas's stand-in for wit-bindgen-go's runtime
// package: a host stand-in for runtime.sbrk, so that the package builds,
// vets and tests off wasm (where nothing exports cabi_realloc). It takes
// memory from the Go heap and keeps it forever, as sbrk memory is kept.

package runtime

import "unsafe"

var sbrkKeep [][]uint64

func sbrk(n uintptr) unsafe.Pointer {
	b := make([]uint64, (n+7)/8)
	sbrkKeep = append(sbrkKeep, b)
	return unsafe.Pointer(unsafe.SliceData(b))
}
