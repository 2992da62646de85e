// This file is part of cofaas's stand-in for grpc-go: tests of codes.Code's
// String and UnmarshalJSON.

package codes

import (
	"encoding/json"
	"testing"
)

func TestString(t *testing.T) {
	want := []string{"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded",
		"NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted",
		"FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented", "Internal",
		"Unavailable", "DataLoss", "Unauthenticated"}
	for i, w := range want {
		if got := Code(i).String(); got != w {
			t.Errorf("Code(%d).String() = %q, want %q", i, got, w)
		}
	}
	if got := Code(17).String(); got != "Code(17)" {
		t.Errorf("Code(17).String() = %q", got)
	}
	if got := Code(4294967295).String(); got != "Code(4294967295)" {
		t.Errorf("max Code String() = %q", got)
	}
}

func TestUnmarshalJSON(t *testing.T) {
	var got []Code
	if err := json.Unmarshal([]byte(`["CANCELLED", 5, "UNAUTHENTICATED", "OK"]`), &got); err != nil {
		t.Fatal(err)
	}
	want := []Code{Canceled, NotFound, Unauthenticated, OK}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	var c Code
	for _, bad := range []string{`"Canceled"`, `17`, `"BOGUS"`, `-1`} {
		if err := json.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
}
