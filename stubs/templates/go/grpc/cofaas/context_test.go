// This file is part of cofaas's stand-in for grpc-go: tests of
// HandlerContext against what context.WithTimeout does.

package cofaas

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

func TestHandlerContextWithoutDeadline(t *testing.T) {
	ctx, cancel := HandlerContext(0, false)
	if _, ok := ctx.Deadline(); ok {
		t.Fatal("a deadline without one")
	}
	if ctx.Err() != nil {
		t.Fatal(ctx.Err())
	}
	cancel()
	<-ctx.Done()
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatal(ctx.Err())
	}
}

func TestHandlerContextDeadline(t *testing.T) {
	start := time.Now()
	ctx, cancel := HandlerContext(30*time.Millisecond, true)
	defer cancel()
	d, ok := ctx.Deadline()
	if !ok || d.Before(start.Add(30*time.Millisecond)) || d.After(time.Now().Add(30*time.Millisecond)) {
		t.Fatalf("deadline %v, %v", d, ok)
	}
	if ctx.Err() != nil {
		t.Fatal("ended early:", ctx.Err())
	}
	select {
	case <-ctx.Done():
		if time.Since(start) < 30*time.Millisecond {
			t.Fatal("done before the deadline")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Done never closed")
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal(ctx.Err())
	}
	cancel() // ending twice keeps the first error
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal(ctx.Err())
	}
}

// Without anything waiting on Done (no timer), Err still sees the deadline
// pass, and a Done asked for afterwards is closed.
func TestHandlerContextErrWithoutDone(t *testing.T) {
	ctx, cancel := HandlerContext(5*time.Millisecond, true)
	defer cancel()
	time.Sleep(10 * time.Millisecond)
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal(ctx.Err())
	}
	select {
	case <-ctx.Done():
	default:
		t.Fatal("Done open after the deadline")
	}
	// An expired deadline seen first by Done.
	ctx2, cancel2 := HandlerContext(-time.Second, true)
	defer cancel2()
	<-ctx2.Done()
	if !errors.Is(ctx2.Err(), context.DeadlineExceeded) {
		t.Fatal(ctx2.Err())
	}
}

func TestHandlerContextCancel(t *testing.T) {
	ctx, cancel := HandlerContext(time.Hour, true)
	done := ctx.Done()
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("cancel did not close Done")
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatal(ctx.Err())
	}
	if ctx.Value("k") != nil {
		t.Fatal("a value")
	}
}

// Contexts derived from it end with it, as from a standard parent, with no
// goroutine each.
func TestHandlerContextChildren(t *testing.T) {
	ctx, cancel := HandlerContext(40*time.Millisecond, true)
	defer cancel()
	// A later child deadline is the parent's.
	child, cancelChild := context.WithTimeout(ctx, time.Hour)
	defer cancelChild()
	if d, _ := child.Deadline(); !d.Equal(mustDeadline(t, ctx)) {
		t.Fatalf("child deadline %v", d)
	}
	before := runtime.NumGoroutine()
	var cancels []context.CancelFunc
	for range 100 {
		c, cf := context.WithCancel(ctx)
		cancels = append(cancels, cf)
		_ = c
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		t.Fatalf("%d goroutines for 100 derived contexts", n-before)
	}
	for _, cf := range cancels {
		cf()
	}
	select {
	case <-child.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("child not ended at the parent's deadline")
	}
	if !errors.Is(child.Err(), context.DeadlineExceeded) {
		t.Fatal(child.Err())
	}
	// A child derived after the end ends at once.
	late, cancelLate := context.WithCancel(ctx)
	defer cancelLate()
	select {
	case <-late.Done():
	case <-time.After(time.Second):
		t.Fatal("late child not ended")
	}
}

func TestHandlerContextAfterFunc(t *testing.T) {
	ctx, cancel := HandlerContext(time.Hour, true)
	ran := make(chan struct{})
	context.AfterFunc(ctx, func() { close(ran) })
	stop := context.AfterFunc(ctx, func() { t.Error("stopped AfterFunc ran") })
	if !stop() || stop() {
		t.Fatal("stop")
	}
	cancel()
	select {
	case <-ran:
	case <-time.After(time.Second):
		t.Fatal("AfterFunc did not run")
	}
	time.Sleep(10 * time.Millisecond)
}

func mustDeadline(t *testing.T, ctx context.Context) time.Time {
	t.Helper()
	d, ok := ctx.Deadline()
	if !ok {
		t.Fatal("no deadline")
	}
	return d
}
