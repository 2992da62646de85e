// This file is part of cofaas's stand-in for grpc-go (google.golang.org/grpc).
// It implements package health: a Server for the grpc.health.v1.Health
// service (Check, List, Watch, SetServingStatus, Shutdown, Resume), which a
// main registers with healthpb.RegisterHealthServer(s, health.NewServer()).
// Check and List are served like any unary rpc, Watch like any server
// stream (inside an app the host answers the app's own health). Left
// out: the client-side health checking (health.Client, registered by
// grpc-go's balancers), which has no connections to check.

// Package health provides a service that exposes server's health and it
// must be imported to enable support for client-side health checks.
package health

import (
	"context"
	"sync"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// maxAllowedServices is the most statuses List returns.
const maxAllowedServices = 100

// Server implements `service Health`.
type Server struct {
	healthpb.UnimplementedHealthServer
	mu sync.RWMutex
	// shutdown makes SetServingStatus ignore new statuses (see Shutdown).
	shutdown bool
	// statusMap stores the serving status of the services this Server
	// monitors.
	statusMap map[string]healthpb.HealthCheckResponse_ServingStatus
	// updates holds, per service, the channels of its watchers.
	updates map[string]map[chan healthpb.HealthCheckResponse_ServingStatus]bool
}

// NewServer returns a new Server, with the server as a whole ("") SERVING.
func NewServer() *Server {
	return &Server{
		statusMap: map[string]healthpb.HealthCheckResponse_ServingStatus{"": healthpb.HealthCheckResponse_SERVING},
		updates:   map[string]map[chan healthpb.HealthCheckResponse_ServingStatus]bool{},
	}
}

// Check implements `service Health`.
func (s *Server) Check(_ context.Context, in *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if st, ok := s.statusMap[in.GetService()]; ok {
		return &healthpb.HealthCheckResponse{Status: st}, nil
	}
	return nil, status.Error(codes.NotFound, "unknown service")
}

// List implements `service Health`.
func (s *Server) List(_ context.Context, _ *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.statusMap) > maxAllowedServices {
		return nil, status.Errorf(codes.ResourceExhausted, "server health list exceeds maximum capacity: %d", maxAllowedServices)
	}
	statuses := make(map[string]*healthpb.HealthCheckResponse, len(s.statusMap))
	for svc, st := range s.statusMap {
		statuses[svc] = &healthpb.HealthCheckResponse{Status: st}
	}
	return &healthpb.HealthListResponse{Statuses: statuses}, nil
}

// Watch implements `service Health`: it sends the service's status at once
// and then on every change, until the stream's context ends.
func (s *Server) Watch(in *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	service := in.GetService()
	update := make(chan healthpb.HealthCheckResponse_ServingStatus, 1)
	s.mu.Lock()
	if st, ok := s.statusMap[service]; ok {
		update <- st
	} else {
		update <- healthpb.HealthCheckResponse_SERVICE_UNKNOWN
	}
	if s.updates[service] == nil {
		s.updates[service] = map[chan healthpb.HealthCheckResponse_ServingStatus]bool{}
	}
	s.updates[service][update] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.updates[service], update)
		s.mu.Unlock()
	}()

	var last healthpb.HealthCheckResponse_ServingStatus = -1
	for {
		select {
		case st := <-update:
			if st == last {
				continue
			}
			last = st
			if err := stream.Send(&healthpb.HealthCheckResponse{Status: st}); err != nil {
				return status.Error(codes.Canceled, "Stream has ended.")
			}
		case <-stream.Context().Done():
			return status.Error(codes.Canceled, "Stream has ended.")
		}
	}
}

// SetServingStatus is called when need to reset the serving status of a
// service or insert a new service entry into the statusMap. It is ignored
// after Shutdown (until Resume).
func (s *Server) SetServingStatus(service string, servingStatus healthpb.HealthCheckResponse_ServingStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return
	}
	s.setServingStatusLocked(service, servingStatus)
}

func (s *Server) setServingStatusLocked(service string, servingStatus healthpb.HealthCheckResponse_ServingStatus) {
	s.statusMap[service] = servingStatus
	for update := range s.updates[service] {
		// Keep only the latest status in the channel.
		select {
		case <-update:
		default:
		}
		update <- servingStatus
	}
}

// Shutdown sets all serving status to NOT_SERVING, and configures the
// server to ignore all future status changes.
func (s *Server) Shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutdown = true
	for service := range s.statusMap {
		s.setServingStatusLocked(service, healthpb.HealthCheckResponse_NOT_SERVING)
	}
}

// Resume sets all serving status to SERVING, and configures the server to
// accept all future status changes.
func (s *Server) Resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutdown = false
	for service := range s.statusMap {
		s.setServingStatusLocked(service, healthpb.HealthCheckResponse_SERVING)
	}
}
