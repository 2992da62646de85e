#!/bin/sh
# Regenerates the checked-in protobuf and gRPC code under pb/mixed from
# ../proto/mixed.proto (shared with the Rust functions; it has no go_package
# option, so the Go import path is given with M flags here).
#
# The checked-in files were produced by protoc 3.21.12 (libprotoc, Debian
# bookworm's protobuf-compiler), protoc-gen-go v1.36.12 and
# protoc-gen-go-grpc v1.6.2:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
set -eu
cd "$(dirname "$0")"
MOD=example.com/mixed/clock
MAP="Mmixed.proto=$MOD/pb/mixed"
protoc -I ../proto \
  --go_out=. --go_opt=module=$MOD --go_opt=$MAP \
  --go-grpc_out=. --go-grpc_opt=module=$MOD --go-grpc_opt=$MAP \
  mixed.proto
