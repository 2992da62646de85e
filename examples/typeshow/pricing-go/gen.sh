#!/bin/sh
# Regenerates the checked-in protobuf and gRPC code under pb/shop from
# ../proto/shop.proto (shared with the Rust functions, unchanged: it has no
# go_package option, so the Go import path is given with M flags here). The
# well-known types it imports map to google.golang.org/protobuf/types/known.
#
# The checked-in files were produced by protoc 3.21.12 (libprotoc, Debian
# bookworm's protobuf-compiler, whose include dir has the well-known types),
# protoc-gen-go v1.36.12 and protoc-gen-go-grpc v1.6.2:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
#
# protoc rejects shop.proto as written: in `service Pricing`, `returns (Quote)`
# resolves to the rpc `shop.Pricing.Quote` itself ("Quote" is not a message
# type), while protox, which the Rust functions use, takes the message
# `shop.Quote`. So protoc is run on a temporary copy in which that one type
# name is written fully qualified (`.shop.Quote`); the descriptor generated
# from it is the same, as resolved names are always fully qualified.
set -eu
cd "$(dirname "$0")"
MOD=example.com/typeshow/pricing-go
MAP="Mshop.proto=$MOD/pb/shop"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
sed 's/returns (Quote)/returns (.shop.Quote)/' ../proto/shop.proto > "$TMP/shop.proto"
protoc -I "$TMP" \
  --go_out=. --go_opt=module=$MOD --go_opt=$MAP \
  --go-grpc_out=. --go-grpc_opt=module=$MOD --go-grpc_opt=$MAP \
  shop.proto
