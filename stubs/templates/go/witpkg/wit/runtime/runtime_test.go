// This file is part of cofaas's stand-in for wit-bindgen-go's runtime package: tests of Handle,
// Allocate, cabi_realloc's logic (heap and sbrk), the GC being off, and
// SafePoint's collections; with a benchmark of SafePoint.

package runtime

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
	"unsafe"
)

func TestHandle(t *testing.T) {
	h := MakeHandle(7)
	if h.Use() != 7 || h.Use() != 7 {
		t.Fatal("Use")
	}
	if h.Take() != 7 || h.TakeOrNil() != 0 {
		t.Fatal("Take")
	}
	h.Set(9)
	mustPanic(t, func() { h.Set(10) })
	if h.TakeOrNil() != 9 {
		t.Fatal("TakeOrNil")
	}
	mustPanic(t, func() { h.Use() })
	mustPanic(t, func() { h.Take() })
	mustPanic(t, func() { h.Set(0) })
	mustPanic(t, func() { MakeHandle(0) })
}

func mustPanic(t *testing.T, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Helper()
			t.Error("no panic")
		}
	}()
	f()
}

func TestAllocate(t *testing.T) {
	var p Pinner
	defer p.Unpin()
	for _, align := range []uintptr{1, 2, 4, 8} {
		for _, size := range []uintptr{0, 1, align, 3 * align, 1 << 20} {
			ptr := Allocate(&p, size, align)
			if ptr == nil || uintptr(ptr)%align != 0 {
				t.Fatalf("Allocate(%d, %d) = %p", size, align, ptr)
			}
			b := unsafe.Slice((*byte)(ptr), size)
			for i := range b {
				if b[i] != 0 {
					t.Fatal("memory not zeroed")
				}
				b[i] = 0xff
			}
		}
	}
	mustPanic(t, func() { Allocate(&p, 16, 16) })
}

func TestRealloc(t *testing.T) {
	defer Unpin()
	ptr := realloc(nil, 0, 8, 24)
	if ptr == nil || uintptr(ptr)%8 != 0 {
		t.Fatalf("realloc = %p", ptr)
	}
	mustPanic(t, func() { realloc(ptr, 24, 8, 48) })

	// Before init and while collecting, memory comes from sbrk.
	useHeap = false
	p1 := realloc(nil, 0, 4, 12)
	useHeap = true
	collecting = true
	p2 := realloc(nil, 0, 8, 16)
	collecting = false
	if p1 == nil || uintptr(p1)%4 != 0 || p2 == nil || uintptr(p2)%8 != 0 {
		t.Fatalf("sbrk allocations %p %p", p1, p2)
	}

	// sbrk blocks are shared by small allocations and never overlap.
	type span struct{ start, end uintptr }
	var spans []span
	for i := 0; i < 200; i++ {
		align := uintptr(1) << (i % 4)
		size := uintptr(i*37%1000 + 1)
		if i%50 == 0 {
			size = 70 << 10 // larger than a block
		}
		p := uintptr(sbrkAligned(size, align))
		if p%align != 0 {
			t.Fatalf("sbrk allocation %#x not aligned to %d", p, align)
		}
		for _, s := range spans {
			if p < s.end && s.start < p+size {
				t.Fatalf("sbrk allocations overlap")
			}
		}
		spans = append(spans, span{p, p + size})
	}
}

func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

var sink []byte

func TestNoAutomaticGC(t *testing.T) {
	before := gcCycles()
	for i := 0; i < 256; i++ {
		sink = make([]byte, 256<<10) // 64 MiB of garbage
	}
	if n := gcCycles() - before; n != 0 {
		t.Fatalf("%d automatic GC cycles", n)
	}
}

func TestSafePointCollects(t *testing.T) {
	safeMu.Lock()
	collect() // a known starting point
	safeMu.Unlock()
	start, cycles := collections, gcCycles()
	for i := 0; i < 4; i++ {
		sink = make([]byte, 1<<20)
		SafePoint()
	}
	if collections != start {
		t.Fatal("collected before the budget was spent")
	}
	for i := 0; i < 16; i++ {
		sink = make([]byte, 1<<20)
	}
	for i := 0; i <= skipSafePoints && collections == start; i++ {
		SafePoint()
	}
	if collections != start+1 || gcCycles() == cycles {
		t.Fatalf("collections %d -> %d", start, collections)
	}
	if old := debug.SetGCPercent(-1); old != -1 {
		t.Fatalf("GC percent after a collection = %d", old)
	}

	// cabi_realloc bytes make SafePoint read the metrics at once.
	start = collections
	skip = skipSafePoints
	for i := 0; i < 9; i++ {
		realloc(nil, 0, 1, 1<<20)
	}
	SafePoint()
	if collections != start+1 {
		t.Fatal("cabi_realloc bytes did not force a check")
	}
}

func BenchmarkSafePoint(b *testing.B) {
	for i := 0; i < b.N; i++ {
		SafePoint()
	}
}

func BenchmarkReadHeap(b *testing.B) {
	for i := 0; i < b.N; i++ {
		readHeap()
	}
}

// TestPinnerKeepsUntilUnpin: memory only the Pinner refers to survives
// collections until Unpin, and is collected after it.
func TestPinnerKeepsUntilUnpin(t *testing.T) {
	collected := make(chan struct{})
	var p Pinner
	for i := range 5 { // more than the inline slots
		ptr := Allocate(&p, 64, 8)
		if i == 4 {
			runtime.SetFinalizer((*uint64)(ptr), func(*uint64) { close(collected) })
		}
	}
	for range 3 {
		runtime.GC()
	}
	select {
	case <-collected:
		t.Fatal("pinned memory was collected")
	case <-time.After(50 * time.Millisecond):
	}
	p.Unpin()
	deadline := time.After(5 * time.Second)
	for {
		runtime.GC()
		select {
		case <-collected:
			return
		case <-deadline:
			t.Fatal("unpinned memory was never collected")
		case <-time.After(10 * time.Millisecond):
		}
	}
}
