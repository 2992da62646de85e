module cofaas.invalid/fuzz/conv

go 1.25.0

require (
	example.com/typeshow/pricing-go v0.0.0
	go.bytecodealliance.org/pkg v0.4.0
	google.golang.org/grpc v1.79.3
	google.golang.org/protobuf v1.36.12
)

require google.golang.org/genproto/googleapis/rpc v0.0.0-20251202230838-ff82c1b0f217 // indirect

// The typeshow example's protobuf-go types (pb/shop), and what a Go function
// compiles against in cofaas: its stand-ins for grpc-go and for
// wit-bindgen-go's runtime package (conv.go imports both).
replace (
	example.com/typeshow/pricing-go => ../../../examples/typeshow/pricing-go
	go.bytecodealliance.org/pkg => ../../../stubs/templates/go/witpkg
	google.golang.org/grpc => ../../../stubs/templates/go/grpc
)
