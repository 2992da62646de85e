// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// The streaming rpcs of a component: ServerCall runs a stream handler of a
// registered service in a goroutine of its own and hands its messages to
// the export calls of the WIT resource, one at a time; ClientCall is what
// the glue of an imported streaming rpc gives package grpc's ClientStream.

package cofaasrt

import (
	"context"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// ServeStream is set by package grpc's init to the function that runs the
// stream handler of call's method on the registered services, with md as
// its incoming metadata, and returns what the handler returned.
var ServeStream func(call *ServerCall, md metadata.MD) error

// ServerCall is the server side of one streaming rpc the component serves.
//
// The handler runs in a goroutine of its own. Under wasip1 a goroutine runs
// only while an export call of the component runs and blocks, so the
// handler moves only when the caller pulls (Next, Poll, Finish) or pushes
// (Push, CloseSend): its SendMsg hands a message over and stays parked
// until the caller asks for the next one, so the caller converts each
// message while the handler cannot touch it, and a fast producer is never
// more than one message ahead (backpressure). Requests are queued, each a
// function that fills the handler's message (RecvMsg).
//
// All methods but Send and Recv are the caller's; Send and Recv are the
// handler's (its ServerStream's SendMsg and RecvMsg).
type ServerCall struct {
	ctx    context.Context
	cancel context.CancelFunc
	method string

	mu       sync.Mutex // guards inbox and inClosed
	inbox    []func(any) error
	inClosed bool
	wake     chan struct{} // cap 1: a request came or the requests ended
	took     chan struct{} // cap 1: the handler took a request

	out    chan any      // the handler's SendMsg hands its message here
	resume chan struct{} // cap 1: the parked handler may return from SendMsg
	parked bool          // the handler handed a message and waits for resume

	pending any // the first message, taken by Opened, for Next

	// A client-streaming handler's one reply (SendAndClose) is kept, not
	// handed over: its caller is still sending, not pulling. Set by
	// ServeStream before the handler runs.
	oneReply bool
	reply    any
	replied  bool

	done  chan struct{} // closed when the handler has returned
	err   error         // what it returned; read after done
	ended bool          // the caller has seen done

	// Response holds the headers and trailers the handler set
	// (grpc.SetHeader, SendHeader, SetTrailer on its context or stream).
	Response ResponseMD
}

// PollState is what Poll found.
type PollState int

const (
	// PollMessage: a reply.
	PollMessage PollState = iota
	// PollPending: nothing yet; poll again.
	PollPending
	// PollEnd: the rpc ended (with the error, nil for OK).
	PollEnd
)

// settleRounds is how often Push, CloseSend and Poll of a bidi call let the
// other goroutines run (runtime.Gosched) before they return without a
// reply: enough for a handler to take a request and send what it answers,
// never a wait for the caller or a timer.
const settleRounds = 4

// StartServerCall starts the stream handler of fullMethod
// ("/pkg.Service/Method") in a new goroutine, with ctx (whose cancel ends
// it) and md as its incoming metadata. For a server-streaming rpc, request
// fills the one request message; for a client or bidi one it is nil and
// the requests come through Push. The handler's context is canceled when
// it returns.
func StartServerCall(ctx context.Context, cancel context.CancelFunc, fullMethod string, md metadata.MD, request func(any) error) *ServerCall {
	c := &ServerCall{
		ctx:    ctx,
		cancel: cancel,
		method: fullMethod,
		wake:   make(chan struct{}, 1),
		took:   make(chan struct{}, 1),
		out:    make(chan any),
		resume: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	if request != nil {
		c.inbox = []func(any) error{request}
		c.inClosed = true
	}
	go func() {
		defer close(c.done)
		defer cancel()
		c.err = ServeStream(c, md)
	}()
	return c
}

// Context is the handler's context (before package grpc adds the incoming
// metadata and the transport stream).
func (c *ServerCall) Context() context.Context { return c.ctx }

// Method is the rpc's full method name.
func (c *ServerCall) Method() string { return c.method }

// contextErr is the status of a handler whose rpc was canceled or ran out
// of time, as grpc-go's stream methods give it.
func (c *ServerCall) contextErr() error {
	return status.FromContextError(c.ctx.Err()).Err()
}

// OneReply makes the handler's SendMsg keep its message for Finish (a
// client-streaming rpc, whose handler replies once, while its caller may
// still be sending).
func (c *ServerCall) OneReply() { c.oneReply = true }

// Send is the handler's SendMsg: it hands m to the caller and waits until
// the caller pulls again (or the rpc is canceled); for a client-streaming
// rpc it keeps m as the reply and returns.
func (c *ServerCall) Send(m any) error {
	if c.oneReply {
		if err := c.ctx.Err(); err != nil {
			return c.contextErr()
		}
		if c.replied {
			return status.Error(codes.Internal, "cofaas: a second reply to a client-streaming rpc")
		}
		c.reply, c.replied = m, true
		return nil
	}
	select {
	case c.out <- m:
	case <-c.ctx.Done():
		return c.contextErr()
	}
	select {
	case <-c.resume:
		return nil
	case <-c.ctx.Done():
		return c.contextErr()
	}
}

// Recv is the handler's RecvMsg: it fills m with the next request, waiting
// for one; io.EOF once the requests have ended.
func (c *ServerCall) Recv(m any) error {
	for {
		c.mu.Lock()
		if len(c.inbox) > 0 {
			fill := c.inbox[0]
			c.inbox[0] = nil
			c.inbox = c.inbox[1:]
			c.mu.Unlock()
			signal(c.took)
			if err := fill(m); err != nil {
				return status.Errorf(codes.Internal, "grpc: failed to unmarshal the received message: %v", err)
			}
			return nil
		}
		closed := c.inClosed
		c.mu.Unlock()
		if closed {
			return io.EOF
		}
		select {
		case <-c.wake:
		case <-c.ctx.Done():
			return c.contextErr()
		}
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// unpark lets a handler parked in Send go on.
func (c *ServerCall) unpark() {
	if c.parked {
		c.parked = false
		signal(c.resume)
	}
}

// Opened runs a server-streaming handler until its first message or its
// end. It returns the error of a handler that returned one before sending
// anything (the rpc then fails before any message); otherwise nil, and the
// first message, if any, waits for Next.
func (c *ServerCall) Opened() error {
	m, ok := c.Next()
	if ok {
		c.pending = m
		return nil
	}
	return c.err
}

// Next waits for the handler's next message (server streaming): the
// message, or ok false once the handler has returned (Err is its error).
func (c *ServerCall) Next() (m any, ok bool) {
	if c.pending != nil {
		m, c.pending = c.pending, nil
		return m, true
	}
	if c.ended {
		return nil, false
	}
	c.unpark()
	select {
	case m := <-c.out:
		c.parked = true
		return m, true
	case <-c.done:
		c.ended = true
		return nil, false
	}
}

// Poll takes the handler's next message if it has one ready (bidi
// streaming), letting it run a little first; it never waits for the
// caller or a timer.
func (c *ServerCall) Poll() (any, PollState) {
	if c.ended {
		return nil, PollEnd
	}
	c.unpark()
	for i := 0; ; i++ {
		select {
		case m := <-c.out:
			c.parked = true
			return m, PollMessage
		case <-c.done:
			c.ended = true
			return nil, PollEnd
		default:
		}
		if i == settleRounds {
			return nil, PollPending
		}
		runtime.Gosched()
	}
}

// Push queues one request (client or bidi streaming). With wait (client
// streaming) it returns once the handler has taken it; otherwise (bidi)
// after letting the handler run a little. It reports false once the
// handler has returned.
func (c *ServerCall) Push(fill func(any) error, wait bool) bool {
	c.mu.Lock()
	if c.inClosed || c.Ended() {
		c.mu.Unlock()
		return false
	}
	c.inbox = append(c.inbox, fill)
	c.mu.Unlock()
	signal(c.wake)
	if !wait {
		c.settle()
		return !c.Ended()
	}
	for c.queued() > 0 {
		select {
		case <-c.took:
		case <-c.done:
			return false
		}
	}
	return true
}

func (c *ServerCall) queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.inbox)
}

// CloseSend ends the requests: the handler's next Recv past the queued
// ones gives io.EOF.
func (c *ServerCall) CloseSend() {
	c.mu.Lock()
	was := c.inClosed
	c.inClosed = true
	c.mu.Unlock()
	if !was {
		signal(c.wake)
		c.settle()
	}
}

func (c *ServerCall) settle() {
	for i := 0; i < settleRounds; i++ {
		runtime.Gosched()
	}
}

// Finish ends the requests and waits for the handler to return (client
// streaming): its reply (SendAndClose), and its error.
func (c *ServerCall) Finish() (reply any, err error) {
	c.CloseSend()
	<-c.done
	c.ended = true
	if c.err == nil && !c.replied {
		return nil, status.Error(codes.Internal, "cofaas: the client-streaming handler returned no reply")
	}
	return c.reply, c.err
}

// Ended reports whether the handler has returned.
func (c *ServerCall) Ended() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Err is what the handler returned, once it has (nil before).
func (c *ServerCall) Err() error {
	if !c.Ended() {
		return nil
	}
	return c.err
}

// Cancel cancels the rpc (the caller dropped the resource): the handler's
// context ends, so its Send and Recv fail, and it gets a chance to see it
// before the caller goes on.
func (c *ServerCall) Cancel() {
	c.cancel()
	if !c.Ended() {
		c.settle()
	}
}

// ClientCall is the caller's side of one streaming rpc of an imported
// service, over the WIT resource: the generated glue fills in the
// functions its kind of rpc uses. Messages are the user's protobuf-go
// messages.
type ClientCall struct {
	// Send sends one request (client and bidi streaming); false once the
	// rpc has ended (its status comes from Finish or Poll). An error is a
	// request that does not convert.
	Send func(m any) (bool, error)
	// CloseSend ends the requests (bidi streaming).
	CloseSend func()
	// Next fills m with the next reply (server streaming); false at the
	// end, with the status (nil for OK).
	Next func(m any) (bool, error)
	// Poll fills m with a reply if one is ready (bidi streaming).
	Poll func(m any) (PollState, error)
	// Finish ends the requests and fills m with the reply (client
	// streaming).
	Finish func(m any) error
	// Drop drops the resource: an rpc that has not ended is canceled.
	// Calling it again does nothing.
	Drop func()

	// Header and Trailer are the response metadata the callee reported.
	Header, Trailer metadata.MD
}

// StreamInvoker opens one streaming rpc of an imported service on call.
// For a server-streaming rpc request is the request (a status error means
// the rpc failed before any reply); for the others it is nil.
type StreamInvoker func(ctx context.Context, call *ClientCall, request any) error

// streamInvokers is guarded by mu, as invokers are.
var streamInvokers = map[string]StreamInvoker{}

// RegisterStreamInvoker routes ClientConn.NewStream for fullMethod to
// open. It panics on a nil invoker or a second registration.
func RegisterStreamInvoker(fullMethod string, open StreamInvoker) {
	if open == nil {
		panic("cofaas: nil stream invoker registered for " + fullMethod)
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := streamInvokers[fullMethod]; dup {
		panic("cofaas: a second stream invoker registered for " + fullMethod)
	}
	streamInvokers[fullMethod] = open
}

// LookupStreamInvoker returns the stream invoker registered for fullMethod.
func LookupStreamInvoker(fullMethod string) (StreamInvoker, bool) {
	mu.RLock()
	defer mu.RUnlock()
	open, ok := streamInvokers[fullMethod]
	return open, ok
}

// openStreams counts the client streams not yet ended.
var openStreams atomic.Int64

// StreamOpened and StreamEnded count a client stream in and out.
func StreamOpened() { openStreams.Add(1) }

// StreamEnded counts a client stream out (see StreamOpened).
func StreamEnded() { openStreams.Add(-1) }

// Settle lets goroutines run that a served rpc woke but did not wait for,
// such as the cancellation of a client stream whose context the handler
// canceled: the resource is then dropped before the export call returns,
// as a Rust function drops it at once. It does nothing while no client
// stream is open.
func Settle() {
	if openStreams.Load() > 0 {
		for i := 0; i < settleRounds; i++ {
			runtime.Gosched()
		}
	}
}
