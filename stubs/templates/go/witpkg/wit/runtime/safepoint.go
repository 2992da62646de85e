// This file is part of cofaas's stand-in for wit-bindgen-go's runtime
// package. It has no counterpart in the original: it implements SafePoint,
// cofaas's replacement for Go's automatic GC, which must never run inside
// cabi_realloc (the canonical ABI forbids calling imports there, and the GC
// reads the clock, an import, when it assists, finishes a cycle or
// scavenges).
//
// init switches the automatic GC off (GC percent -1, no memory limit). The
// glue calls SafePoint at every export entry and around every import call,
// where leaving the component is allowed; SafePoint collects (runtime.GC)
// once the bytes allocated since the last collection exceed max(8 MiB, the
// live heap after it times GOGC/100), i.e. GOGC semantics with GOGC=100
// unless the environment set another value. Each collection runs with the
// GC percent at that value and then sets it back to -1; the last step also
// keeps the runtime from scavenging synchronously when the heap grows
// (mheap.allocSpan reads the clock to do so while a gcPercent scavenging
// goal is set, and that goal is only cleared by a commit with a much larger
// heap goal than the last cycle's).
//
// The check reads runtime/metrics (about 0.3-0.5 µs; runtime.ReadMemStats
// stops the world and costs ~5 µs). To keep the cost per safe point low,
// while more than 2 MiB of the budget remain it reads only every 16th safe
// point, or sooner once cabi_realloc has handed out 1 MiB; closer to the
// budget it skips as many safe points (up to 16) as half the remaining
// budget lasts at the allocation rate seen since the last read. So a
// collection can come up to 16 safe points late.
package runtime

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

const (
	minBudget       = 8 << 20 // bytes allocated before the first collection, at least
	skipSafePoints  = 16      // safe points between reads while far from the budget
	farFromBudget   = 2 << 20 // remaining budget above which reads are skipped
	reallocReadMark = 1 << 20 // cabi_realloc bytes that force a read
)

var (
	safeMu sync.Mutex // held while SafePoint runs; other goroutines wait
	// collecting is true while SafePoint collects; cabi_realloc then uses
	// sbrk.
	collecting bool
	// gcPercent is the GC percent collections run with.
	gcPercent = 100

	samples = []metrics.Sample{
		{Name: "/gc/heap/allocs:bytes"}, // cumulative bytes allocated
		{Name: "/gc/heap/live:bytes"},   // bytes marked live by the last GC
	}
	allocsAtGC uint64 // cumulative bytes allocated when the last collection ended
	budget     uint64 // bytes that may be allocated after it before the next
	skip       int    // safe points left before the next read
	// lastRead is the cumulative bytes allocated at the last read, and
	// skippedSinceRead the safe points skipped after it.
	lastRead         uint64
	skippedSinceRead int
	// collections counts the collections SafePoint ran (for tests).
	collections int
)

func init() {
	if old := debug.SetGCPercent(-1); old > 0 {
		gcPercent = old
	}
	debug.SetMemoryLimit(math.MaxInt64)
	allocs, live := readHeap()
	allocsAtGC, lastRead = allocs, allocs
	budget = budgetFor(live)
	useHeap = true
}

// SafePoint collects garbage if enough was allocated since the last
// collection (see the file comment), and releases what cabi_realloc pinned
// (import results and export arguments are Go values by the time the glue
// gets to a safe point). The glue must call it at every export entry and
// before and after every import call, never between a call to cabi_realloc
// and the generated code that reads what it allocated, and must not block
// between the SafePoint before an import and the import call.
func SafePoint() {
	safeMu.Lock()
	defer safeMu.Unlock()
	pinner.Unpin()
	if skip > 0 && reallocBytes < reallocReadMark {
		skip--
		return
	}
	reallocBytes = 0
	allocs, _ := readHeap()
	sinceRead := allocs - lastRead
	lastRead = allocs
	allocated := allocs - allocsAtGC
	if allocated < budget {
		skip = skipFor(budget-allocated, sinceRead/uint64(skippedSinceRead+1))
		skippedSinceRead = skip
		return
	}
	collect()
}

// skipFor is how many safe points may pass unread with remaining bytes of
// the budget left, at perSafePoint bytes allocated per safe point (as
// measured since the last read): all of skipSafePoints while more than
// farFromBudget remain, otherwise as many as half the remaining budget
// lasts at that rate, so that the reads stay sparse near the budget too.
func skipFor(remaining, perSafePoint uint64) int {
	if remaining > farFromBudget {
		return skipSafePoints
	}
	return int(min(remaining/2/max(perSafePoint, 1), skipSafePoints))
}

func collect() {
	collecting = true
	debug.SetGCPercent(gcPercent)
	runtime.GC()
	debug.SetGCPercent(-1)
	collecting = false
	collections++
	allocs, live := readHeap()
	allocsAtGC, lastRead = allocs, allocs
	budget = budgetFor(live)
	reallocBytes = 0
	skip, skippedSinceRead = skipSafePoints, skipSafePoints
}

func budgetFor(live uint64) uint64 {
	return max(minBudget, live/100*uint64(gcPercent))
}

// readHeap returns the cumulative bytes allocated and the live heap after
// the last GC.
func readHeap() (allocs, live uint64) {
	metrics.Read(samples)
	if samples[0].Value.Kind() == metrics.KindUint64 {
		allocs = samples[0].Value.Uint64()
	}
	if samples[1].Value.Kind() == metrics.KindUint64 {
		live = samples[1].Value.Uint64()
	}
	return allocs, live
}
