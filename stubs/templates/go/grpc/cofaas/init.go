// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// It runs the function's main: RegisterMain and Init (see the package doc
// for when Init returns).

package cofaas

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/internal/cofaasrt"
)

var (
	initMu    sync.Mutex
	mainFunc  func()        // guarded by initMu
	initState int           // guarded by initMu: 0 not run yet, 1 running, 2 done
	mainGoid  uint64        // guarded by initMu: the goroutine running main, once it runs
	initOver  atomic.Bool   // initState == 2
	initDone  chan struct{} // guarded by initMu: closed when the running Init returns
)

// RegisterMain records the function's original main (called from an init()
// in package main). A later call replaces an earlier one.
func RegisterMain(main func()) {
	initMu.Lock()
	mainFunc = main
	initMu.Unlock()
}

// Init runs main once, on first call, in a new goroutine, and returns when
// main serves, returned or is stuck (see the package doc); later calls
// return at once. A call made from main's own goroutine while Init runs
// returns at once; one from any other goroutine waits for the running
// Init. If main panics, the program ends (a trap).
func Init() {
	if initOver.Load() {
		return
	}
	initMu.Lock()
	switch initState {
	case 1:
		done, reentrant := initDone, mainGoid != 0 && goid() == mainGoid
		initMu.Unlock()
		if !reentrant {
			<-done
		}
		return
	case 2:
		initMu.Unlock()
		return
	}
	initState = 1
	initDone = make(chan struct{})
	m := mainFunc
	initMu.Unlock()
	if m != nil {
		waitForMain(startMain(m))
	}
	initMu.Lock()
	initState = 2
	initOver.Store(true)
	close(initDone)
	initMu.Unlock()
}

// startMain runs main in a new goroutine; the channel is closed when main
// returns. It is not closed if main panics (that ends the program) or
// leaves its goroutine by runtime.Goexit (then the stuck test applies).
func startMain(main func()) <-chan struct{} {
	ended := make(chan struct{})
	go func() {
		id := goid()
		initMu.Lock()
		mainGoid = id
		initMu.Unlock()
		main()
		close(ended)
	}()
	return ended
}

// stuckChecks is how many tests in a row must find no other goroutine able
// to run before Init calls main stuck: one would do under wasip1 (a
// single thread); the second guards against races between threads on
// other platforms.
const stuckChecks = 2

// waitForMain returns once main has ended, serves, or is stuck.
func waitForMain(ended <-chan struct{}) {
	stuck := 0
	for {
		select {
		case <-ended:
			return
		default:
		}
		ready, registered := serveState()
		if ready {
			return
		}
		if othersCanRun() {
			stuck = 0
		} else if stuck++; stuck == stuckChecks {
			if !registered {
				os.Stderr.WriteString("cofaas: main blocked before registering any gRPC service; its rpcs will get Unimplemented\n")
			}
			return
		}
		yield()
	}
}

// serveState is cofaasrt.ServeState, or (false, false) if package grpc did
// not set it.
func serveState() (ready, registered bool) {
	if cofaasrt.ServeState == nil {
		return false, false
	}
	return cofaasrt.ServeState()
}

// yield lets the other goroutines run. Under wasm (one thread, no
// preemption) runtime.Gosched returns once every other runnable goroutine
// has run until it parked or yielded (give or take the scheduler's
// fairness); elsewhere a short sleep keeps Init from spinning on a CPU.
func yield() {
	if runtime.GOARCH == "wasm" {
		runtime.Gosched()
		return
	}
	time.Sleep(100 * time.Microsecond)
}

// goid returns the id of the calling goroutine, from the header of its
// stack trace ("goroutine 18 [running]:").
func goid() uint64 {
	var buf [64]byte
	s := strings.TrimPrefix(string(buf[:runtime.Stack(buf[:], false)]), "goroutine ")
	var id uint64
	for i := 0; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		id = id*10 + uint64(s[i]-'0')
	}
	return id
}

// othersCanRun reports whether a goroutine other than the caller can run:
// its state in runtime.Stack's dump is runnable, running, a system call or
// a stack copy or preemption (anything else is a wait: on a channel, a
// lock, a timer, I/O). The goroutine of os/signal (os/signal.signal_recv)
// does not count: under wasip1 it polls, and so is always runnable.
func othersCanRun() bool {
	self := goid()
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	dump := string(buf)
	for dump != "" {
		var g string
		g, dump, _ = strings.Cut(dump, "\n\n")
		header, _, _ := strings.Cut(g, "\n")
		id, ok := strings.CutPrefix(header, "goroutine ")
		if !ok {
			continue
		}
		if n, _, _ := strings.Cut(id, " "); n == strconv.FormatUint(self, 10) {
			continue
		}
		_, state, ok := strings.Cut(header, "[")
		if !ok {
			continue
		}
		if i := strings.IndexAny(state, ",]"); i >= 0 {
			state = state[:i]
		}
		switch state {
		case "runnable", "running", "syscall", "copystack", "preempted":
			if !strings.Contains(g, "os/signal.signal_recv(") {
				return true
			}
		}
	}
	return false
}
