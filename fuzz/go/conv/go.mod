module cofaas.invalid/fuzz/conv

go 1.25.0

require (
	example.com/typeshow/pricing-go v0.0.0
	go.bytecodealliance.org/pkg v0.4.0
	google.golang.org/grpc v1.79.3
	google.golang.org/protobuf v1.36.12
)

require (
	golang.org/x/net v0.48.0 // indirect
	golang.org/x/sys v0.39.0 // indirect
	golang.org/x/text v0.32.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20251202230838-ff82c1b0f217 // indirect
)

// The typeshow example's protobuf-go types (pb/shop), and cofaas's stand-in
// for wit-bindgen-go's runtime package (which conv.go imports).
replace (
	example.com/typeshow/pricing-go => ../../../examples/typeshow/pricing-go
	go.bytecodealliance.org/pkg => ../../../stubs/templates/go/witpkg
)
