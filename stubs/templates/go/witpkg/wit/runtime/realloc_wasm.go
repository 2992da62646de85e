//go:build wasm

// This file is part of cofaas's stand-in for wit-bindgen-go's runtime
// package. It implements the wasm-only parts: the exported cabi_realloc and
// runtime.sbrk, reached by go:linkname (cofaas links with
// -checklinkname=0). Nothing is left out.

package runtime

import "unsafe"

//go:linkname sbrk runtime.sbrk
func sbrk(n uintptr) unsafe.Pointer

//go:wasmexport cabi_realloc
func cabiRealloc(oldPtr unsafe.Pointer, oldSize, align, newSize uintptr) unsafe.Pointer {
	return realloc(oldPtr, oldSize, align, newSize)
}
