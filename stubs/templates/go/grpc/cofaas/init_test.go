// This file is part of cofaas's stand-in for grpc-go: tests of Init with the mains that grpc-go
// functions have (Serve blocks; Init returns once main serves, returned or is stuck; a panic in
// main ends the program). Init runs main once per process, so each case runs in a child process
// of the test binary (TestInitChild), which prints what it saw.

package cofaas

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const childEnv = "COFAAS_INIT_CHILD"

// echoDesc is a unary service, written by hand as protoc-gen-go-grpc would.
func echoDesc(name string) *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: name,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Echo",
			Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				in := new(wrapperspb.StringValue)
				if err := dec(in); err != nil {
					return nil, err
				}
				return wrapperspb.String(name + ": " + in.GetValue()), nil
			},
		}},
	}
}

func newServer(services ...string) (*grpc.Server, net.Listener) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	s := grpc.NewServer()
	for _, name := range services {
		s.RegisterService(echoDesc(name), struct{}{})
	}
	return s, lis
}

// call makes one rpc of service's Echo and reports its reply or status.
func call(service string) string {
	in, _ := proto.Marshal(wrapperspb.String("hi"))
	reply, err := UnaryCall(context.Background(), "/"+service+"/Echo", func(m any) error {
		return proto.Unmarshal(in, m.(proto.Message))
	})
	if err != nil {
		return status.Code(err).String()
	}
	return reply.(*wrapperspb.StringValue).GetValue()
}

// spin keeps the CPU busy for d without blocking, as a main doing setup work does.
func spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

var (
	mainRuns  atomic.Int32
	after     atomic.Bool // main got past the point the case says
	theServer atomic.Pointer[grpc.Server]
)

type initCase struct {
	main  func()
	check func() // runs after Init returned, in the child; prints what it sees
}

var initCases = map[string]initCase{
	"log-fatal-serve": {
		main: func() {
			s, lis := newServer("t.A")
			theServer.Store(s)
			log.Fatal(s.Serve(lis)) // natively: exits only once the server stops
		},
		check: func() {
			fmt.Println("after Serve:", after.Load(), "call:", call("t.A"))
			// Stop makes Serve return nil: log.Fatal(nil) exits with 1, as natively.
			theServer.Load().GracefulStop()
			time.Sleep(5 * time.Second)
			fmt.Println("still running after GracefulStop")
		},
	},
	"go-serve-select": {
		main: func() {
			s, lis := newServer("t.A")
			go s.Serve(lis)
			select {}
		},
	},
	"go-serve-signal": {
		main: func() {
			s, lis := newServer("t.A")
			go func() {
				if err := s.Serve(lis); err != nil {
					log.Fatalf("failed to serve: %v", err)
				}
			}()
			c := make(chan os.Signal, 1)
			signal.Notify(c, os.Interrupt)
			<-c
			after.Store(true)
		},
	},
	"go-serve-waitgroup": {
		main: func() {
			s, lis := newServer("t.A")
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.Serve(lis)
			}()
			wg.Wait()
			after.Store(true)
		},
	},
	"defer-after-serve": {
		main: func() {
			defer after.Store(true) // a deferred cleanup (conn.Close, say)
			s, lis := newServer("t.A")
			if err := s.Serve(lis); err != nil {
				log.Fatalf("failed to serve: %v", err)
			}
		},
	},
	"register-and-return": {
		main: func() {
			newServer("t.A")
			after.Store(true)
		},
	},
	"signal-without-serve": {
		main: func() {
			newServer("t.A")
			c := make(chan os.Signal, 1)
			signal.Notify(c, os.Interrupt)
			<-c
			after.Store(true)
		},
	},
	"sleep-before-serve": {
		main: func() {
			s, lis := newServer("t.A")
			time.Sleep(time.Hour) // a timer counts as blocked
			after.Store(true)
			s.Serve(lis)
		},
	},
	"stuck-without-services": {
		main: func() { select {} },
	},
	"panic": {
		main: func() {
			newServer("t.A")
			panic("main failed")
		},
	},
	"two-servers": {
		main: func() {
			s1, l1 := newServer("t.A")
			s2, l2 := newServer("t.B")
			go func() {
				spin(100 * time.Millisecond)
				after.Store(true)
				s2.Serve(l2)
			}()
			s1.Serve(l1)
		},
		check: func() {
			fmt.Println("second server's goroutine got to Serve:", after.Load(), "calls:", call("t.A"), "|", call("t.B"))
		},
	},
	"setup-in-goroutine": {
		main: func() {
			ready := make(chan struct{})
			go func() {
				spin(100 * time.Millisecond) // loads a config, say
				close(ready)
			}()
			<-ready
			s, lis := newServer("t.A")
			s.Serve(lis)
		},
	},
	"reentrant-and-concurrent": {
		main: func() {
			Init() // from main's goroutine: returns at once
			spin(50 * time.Millisecond)
			s, lis := newServer("t.A")
			s.Serve(lis)
		},
		check: func() {
			var wg sync.WaitGroup
			got := make([]string, 4)
			for i := range got {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got[i] = call("t.A")
				}()
			}
			wg.Wait()
			fmt.Println("concurrent calls:", strings.Join(got, " | "))
		},
	},
}

// TestInitChild is the child process of TestInit: it runs one case.
func TestInitChild(t *testing.T) {
	name := os.Getenv(childEnv)
	if name == "" {
		t.Skip("run by TestInit")
	}
	c := initCases[name]
	RegisterMain(func() {
		mainRuns.Add(1)
		c.main()
	})
	go func() {
		time.Sleep(20 * time.Second)
		fmt.Println("Init hung")
		os.Exit(3)
	}()
	start := time.Now()
	UnaryCall(context.Background(), "/t.None/Echo", func(any) error { return nil }) // runs Init
	Init()
	fmt.Printf("Init returned after %v\n", time.Since(start).Round(10*time.Millisecond))
	if c.check != nil {
		c.check()
	} else {
		fmt.Println("after:", after.Load(), "call:", call("t.A"))
	}
	fmt.Println("main ran", mainRuns.Load(), "time(s)")
}

func TestInit(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("in the child")
	}
	for _, tc := range []struct {
		name string
		code int      // the child's exit code
		want []string // in its output
	}{
		{"log-fatal-serve", 1, []string{"after Serve: false call: t.A: hi", "<nil>"}},
		{"go-serve-select", 0, []string{"after: false call: t.A: hi"}},
		{"go-serve-signal", 0, []string{"after: false call: t.A: hi"}},
		{"go-serve-waitgroup", 0, []string{"after: false call: t.A: hi"}},
		{"defer-after-serve", 0, []string{"after: false call: t.A: hi"}},
		{"register-and-return", 0, []string{"after: true call: t.A: hi"}},
		{"signal-without-serve", 0, []string{"after: false call: t.A: hi"}},
		{"sleep-before-serve", 0, []string{"after: false call: t.A: hi"}},
		{"stuck-without-services", 0, []string{"main blocked before registering any gRPC service", "call: Unimplemented"}},
		{"panic", 2, []string{"panic: main failed"}},
		{"two-servers", 0, []string{"second server's goroutine got to Serve: true calls: t.A: hi | t.B: hi"}},
		{"setup-in-goroutine", 0, []string{"call: t.A: hi"}},
		{"reentrant-and-concurrent", 0, []string{"concurrent calls: t.A: hi | t.A: hi | t.A: hi | t.A: hi"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestInitChild$", "-test.v")
			cmd.Env = append(os.Environ(), childEnv+"="+tc.name)
			out, _ := cmd.CombinedOutput()
			code := cmd.ProcessState.ExitCode()
			s := string(out)
			if code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(s, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if tc.code != 2 && !strings.Contains(s, "main ran 1 time(s)") && tc.code == 0 {
				t.Errorf("main did not run exactly once")
			}
			if tc.code == 2 && strings.Contains(s, "Init returned") {
				t.Errorf("Init returned although main panicked")
			}
			if t.Failed() {
				t.Logf("output:\n%s", s)
			}
		})
	}
}
