// cofaas's stand-in for grpc-go: replaces google.golang.org/grpc in the
// function's copied go.mod. Its requirements are old on purpose, so that the
// function's own (higher) versions win.
module google.golang.org/grpc

go 1.25

require (
	google.golang.org/genproto/googleapis/rpc v0.0.0-20240318140521-94a12d6c2237
	google.golang.org/protobuf v1.34.0
)
