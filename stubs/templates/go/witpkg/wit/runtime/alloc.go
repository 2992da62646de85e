// This file is part of cofaas's stand-in for wit-bindgen-go's runtime
// package. It implements the memory the canonical ABI asks for: Allocate
// (Go memory kept until the pinner is unpinned), Pinner, Unpin, and the
// logic of cabi_realloc (exported in realloc_wasm.go). Left out, as in the original:
// growing or moving an earlier allocation (cabi_realloc only makes fresh
// ones).
//
// cabi_realloc must not call imports, and a Go allocation may run GC work
// that reads the clock (an import). So this package switches the automatic
// GC off (see safepoint.go), and cabi_realloc takes memory from runtime.sbrk
// instead of the Go heap whenever the heap may not be used: before this
// package's init has run (the Go runtime may not be up yet) and while
// SafePoint is collecting (a goroutine may be parked inside runtime.GC()
// when the host lowers a value into Go). sbrk memory is never freed; both
// cases are rare.
package runtime

import (
	"fmt"
	"unsafe"
)

// Pinner keeps Go memory that only the host refers to (by address) alive
// until Unpin. cofaas's grpc-shim-gen makes the bindings wit-bindgen-go
// writes use it instead of runtime.Pinner, which costs a span lock and a
// special record per object. Holding a reference is enough here: Go's
// collector never moves heap objects, Pin makes its argument escape to the
// heap, and with the automatic GC off (safepoint.go) no collection runs
// while the host holds an address anyway. The zero value is ready to use;
// a Pinner must not be copied after its first Pin.
type Pinner struct {
	inline [2]any
	n      int
	more   []any
}

// Pin keeps what ptr points to alive until Unpin.
func (p *Pinner) Pin(ptr any) {
	if p.n < len(p.inline) {
		p.inline[p.n] = ptr
		p.n++
		return
	}
	p.more = append(p.more, ptr)
}

// Unpin releases everything Pin kept (its storage is reused).
func (p *Pinner) Unpin() {
	p.inline = [2]any{}
	p.n = 0
	clear(p.more)
	p.more = p.more[:0]
}

var (
	// useHeap is set by init: from then on cabi_realloc allocates on the Go
	// heap (unless a collection is under way).
	useHeap bool
	// pinner keeps what cabi_realloc allocates, until Unpin (or SafePoint).
	pinner Pinner
	// reallocBytes counts the bytes cabi_realloc allocated on the heap
	// since SafePoint last read the allocation metrics.
	reallocBytes uintptr
	// zeroBase is what an allocation of 0 bytes returns: a valid, aligned
	// address that nothing is written to.
	zeroBase [1]uint64
)

// Allocate returns size bytes of zeroed Go memory aligned to align (1, 2, 4
// or 8), kept by pinner so that the GC keeps it while only the host refers
// to it. A size of 0 gives a valid, unpinned address.
func Allocate(pinner *Pinner, size, align uintptr) unsafe.Pointer {
	p := allocateRaw(size, align)
	if size != 0 {
		pinner.Pin(p)
	}
	return p
}

func allocateRaw(size, align uintptr) unsafe.Pointer {
	if size == 0 {
		return unsafe.Pointer(&zeroBase)
	}
	n := (size + align - 1) / align // elements of the aligned type
	switch align {
	case 1:
		return unsafe.Pointer(unsafe.SliceData(make([]uint8, n)))
	case 2:
		return unsafe.Pointer(unsafe.SliceData(make([]uint16, n)))
	case 4:
		return unsafe.Pointer(unsafe.SliceData(make([]uint32, n)))
	case 8:
		return unsafe.Pointer(unsafe.SliceData(make([]uint64, n)))
	default:
		panic(fmt.Sprintf("wit: unsupported alignment %d", align))
	}
}

// Unpin releases what cabi_realloc allocated (generated export wrappers
// call it once the arguments are read into Go values, which keep the memory
// alive as ordinary references). It is cheap and never collects.
func Unpin() {
	pinner.Unpin()
}

// realloc is cabi_realloc: it only makes fresh allocations.
func realloc(oldPtr unsafe.Pointer, oldSize, align, newSize uintptr) unsafe.Pointer {
	if oldPtr != nil || oldSize != 0 {
		panic("wit: cabi_realloc cannot resize an allocation")
	}
	if !useHeap || collecting {
		return sbrkAligned(newSize, align)
	}
	reallocBytes += newSize
	return Allocate(&pinner, newSize, align)
}

// sbrkBlock is the last block taken from runtime.sbrk (which hands out
// whole 64 KiB pages), sbrkUsed the bytes of it handed out, sbrkSize its
// size.
var (
	sbrkBlock          unsafe.Pointer
	sbrkUsed, sbrkSize uintptr
)

// sbrkAligned takes size bytes aligned to align from runtime.sbrk.
func sbrkAligned(size, align uintptr) unsafe.Pointer {
	if size == 0 {
		return unsafe.Pointer(&zeroBase)
	}
	if align == 0 || align&(align-1) != 0 {
		panic("wit: cabi_realloc alignment is not a power of two")
	}
	pad := func() uintptr { return -(uintptr(sbrkBlock) + sbrkUsed) & (align - 1) }
	if sbrkBlock == nil || sbrkUsed+pad()+size > sbrkSize {
		n := max(size+align-1, 64<<10)
		p := sbrk(n)
		if p == nil {
			panic("wit: cabi_realloc out of memory")
		}
		sbrkBlock, sbrkUsed, sbrkSize = p, 0, n
	}
	sbrkUsed += pad()
	p := unsafe.Add(sbrkBlock, sbrkUsed)
	sbrkUsed += size
	return p
}
