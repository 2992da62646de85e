// cofaas's stand-in for wit-bindgen-go's runtime package
// (go.bytecodealliance.org/pkg v0.4.0, not on the Go module proxy).
module go.bytecodealliance.org/pkg

go 1.25
