// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// It implements HandlerContext, the context a handler is called with; it has
// no counterpart in grpc-go, whose server makes it with
// context.WithTimeout.

package cofaas

import (
	"context"
	"sync"
	"time"
)

// HandlerContext is the context a handler of an rpc is served with, and
// the function that ends it (call it when the handler has returned). With a
// deadline (has), the context behaves as grpc-go's server context, which
// context.WithTimeout makes: Deadline reports it, Done is closed and Err
// gives context.DeadlineExceeded once it passes, and cancel gives
// context.Canceled before that. Without one, it is context.WithCancel's.
//
// It differs from context.WithTimeout only in cost: its timer starts the
// first time something asks for Done (directly, or by deriving a context
// from it), not when the rpc starts. Most handlers never do, and a Go timer
// costs a few microseconds here, on every rpc. Err tests the clock while no
// timer runs. Derived contexts are cancelled as with a standard parent: it
// implements AfterFunc, so context.WithCancel and friends register with it
// instead of starting a goroutine each.
func HandlerContext(remaining time.Duration, has bool) (context.Context, context.CancelFunc) {
	if !has {
		return context.WithCancel(context.Background())
	}
	c := &deadlineCtx{deadline: time.Now().Add(remaining)}
	return c, func() { c.end(context.Canceled) }
}

// deadlineCtx is HandlerContext's context with a deadline.
type deadlineCtx struct {
	deadline time.Time

	mu    sync.Mutex
	err   error         // set once, when the context ends
	done  chan struct{} // made by the first Done; closed when it ends
	timer *time.Timer   // started by the first Done, if it has not ended
	// after holds the AfterFunc callbacks not yet run or stopped.
	after map[*afterFunc]struct{}
}

// afterFunc is one AfterFunc registration.
type afterFunc struct{ f func() }

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *deadlineCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done != nil {
		return c.done
	}
	c.done = make(chan struct{})
	if c.expireLocked(); c.err != nil {
		close(c.done)
	} else {
		c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.end(context.DeadlineExceeded) })
	}
	return c.done
}

func (c *deadlineCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil && c.timer == nil && c.expireLocked() {
		c.endLocked()
	}
	return c.err
}

func (c *deadlineCtx) Value(any) any { return nil }

// AfterFunc runs f in its own goroutine once c ends (at once if it has),
// as context.AfterFunc does; stop unregisters f and reports whether it did
// so before f started.
func (c *deadlineCtx) AfterFunc(f func()) (stop func() bool) {
	// Until something waits on Done nothing can end c at its deadline but
	// a timer, so registering needs one, as Done makes.
	c.Done()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	a := &afterFunc{f: f}
	if c.after == nil {
		c.after = make(map[*afterFunc]struct{})
	}
	c.after[a] = struct{}{}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.after[a]; !ok {
			return false
		}
		delete(c.after, a)
		return true
	}
}

func (c *deadlineCtx) String() string {
	return "cofaas.HandlerContext.WithDeadline(" + c.deadline.String() + ")"
}

// expireLocked sets err to DeadlineExceeded if the deadline has passed and
// c has not ended yet, reporting whether it did.
func (c *deadlineCtx) expireLocked() bool {
	if c.err == nil && !time.Now().Before(c.deadline) {
		c.err = context.DeadlineExceeded
		return true
	}
	return false
}

// end ends c with err, unless it has ended.
func (c *deadlineCtx) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	c.endLocked()
}

// endLocked does what ending c does, once err is set: closes Done, stops
// the timer and starts the AfterFunc callbacks.
func (c *deadlineCtx) endLocked() {
	if c.done != nil {
		select {
		case <-c.done:
		default:
			close(c.done)
		}
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	for a := range c.after {
		go a.f()
	}
	c.after = nil
}
