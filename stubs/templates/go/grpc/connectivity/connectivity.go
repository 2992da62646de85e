// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// It implements package connectivity: State and ServingMode with their
// values. Left out: the Reporter interface of the balancer API.

// Package connectivity defines connectivity semantics.
package connectivity

// State indicates the state of connectivity.
type State int

// The connectivity states.
const (
	Idle State = iota
	Connecting
	Ready
	TransientFailure
	Shutdown
)

func (s State) String() string {
	switch s {
	case Idle:
		return "IDLE"
	case Connecting:
		return "CONNECTING"
	case Ready:
		return "READY"
	case TransientFailure:
		return "TRANSIENT_FAILURE"
	case Shutdown:
		return "SHUTDOWN"
	default:
		return "INVALID_STATE"
	}
}

// ServingMode indicates the current mode of operation of the server.
type ServingMode int

// The serving modes.
const (
	ServingModeStarting ServingMode = iota
	ServingModeServing
	ServingModeNotServing
)

func (s ServingMode) String() string {
	switch s {
	case ServingModeStarting:
		return "STARTING"
	case ServingModeServing:
		return "SERVING"
	case ServingModeNotServing:
		return "NOT_SERVING"
	default:
		return "INVALID_MODE"
	}
}
