package main

// Regenerates the checked-in protobuf and gRPC code under pb/ from the app's
// protos in ../proto (unchanged: they carry no go_package option, so the Go
// import paths are given with M options here). Run `go generate` in this
// directory, with protoc, protoc-gen-go and protoc-gen-go-grpc on PATH.
//
// The checked-in files were produced by protoc 3.21.12 (libprotoc, Debian
// bookworm's protobuf-compiler), protoc-gen-go v1.36.12 and
// protoc-gen-go-grpc v1.6.2:
//   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//
//go:generate protoc -I ../proto --go_out=. --go_opt=module=example.com/routeguide/tour-go --go_opt=Mroute_guide.proto=example.com/routeguide/tour-go/pb/routeguide,Mtour.proto=example.com/routeguide/tour-go/pb/tour --go-grpc_out=. --go-grpc_opt=module=example.com/routeguide/tour-go --go-grpc_opt=Mroute_guide.proto=example.com/routeguide/tour-go/pb/routeguide,Mtour.proto=example.com/routeguide/tour-go/pb/tour route_guide.proto tour.proto
