// This file is part of cofaas's stand-in for wit-bindgen-go's runtime
// package. It is empty: an assembly file lets the Go compiler accept the
// bodyless sbrk declaration of realloc_wasm.go (implemented by go:linkname).
