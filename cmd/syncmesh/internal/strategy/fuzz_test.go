package strategy

import (
	"errors"
	"testing"
)

// FuzzParse checks that any file content either parses or fails with
// ErrTable, never panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"/a/*: counter\n", `{"/x":"max"}`, "- x", "a: [1", "/*/*: multi\n/a: lww\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrTable) {
				t.Fatalf("Parse error %v does not wrap ErrTable", err)
			}
			return
		}
		if st == nil {
			t.Fatal("nil table without an error")
		}
	})
}
