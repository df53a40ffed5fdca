package draft

import (
	"encoding/json"
	"errors"
	"testing"
)

func parsePatches(t *testing.T, s string) []Patch {
	t.Helper()
	var ps []Patch
	if err := json.Unmarshal([]byte(s), &ps); err != nil {
		t.Fatalf("parse patches %s: %v", s, err)
	}
	return ps
}

func TestApply(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		patches string
		want    string // result, when err is nil
		err     error
		lenient bool
	}{
		{"add key", `{"a":1}`, `[{"op":"add","path":"/b","value":[1]}]`, `{"a":1,"b":[1]}`, nil, false},
		{"add replaces key", `{"a":1}`, `[{"op":"add","path":"/a","value":2}]`, `{"a":2}`, nil, false},
		{"add list insert", `[1,2]`, `[{"op":"add","path":"/1","value":9}]`, `[1,9,2]`, nil, false},
		{"add list end dash", `[1,2]`, `[{"op":"add","path":"/-","value":9}]`, `[1,2,9]`, nil, false},
		{"add list at len", `[1,2]`, `[{"op":"add","path":"/2","value":9}]`, `[1,2,9]`, nil, false},
		{"add root", `{"a":1}`, `[{"op":"add","path":"","value":5}]`, `5`, nil, false},
		{"add index out of range", `[1]`, `[{"op":"add","path":"/3","value":9}]`, ``, ErrIndexRange, false},
		{"add missing parent", `{}`, `[{"op":"add","path":"/a/b","value":1}]`, ``, ErrNotFound, false},
		{"add into scalar", `{"a":1}`, `[{"op":"add","path":"/a/b","value":1}]`, ``, ErrWrongType, false},
		{"add key into list", `[1]`, `[{"op":"add","path":"/x","value":1}]`, ``, ErrWrongType, false},
		{"add leading zero index", `[1]`, `[{"op":"add","path":"/01","value":1}]`, ``, ErrWrongType, false},
		{"remove key", `{"a":1,"b":2}`, `[{"op":"remove","path":"/a"}]`, `{"b":2}`, nil, false},
		{"remove item", `[1,2,3]`, `[{"op":"remove","path":"/1"}]`, `[1,3]`, nil, false},
		{"remove missing", `{"a":1}`, `[{"op":"remove","path":"/b"}]`, ``, ErrNotFound, false},
		{"remove index range", `[1]`, `[{"op":"remove","path":"/1"}]`, ``, ErrIndexRange, false},
		{"remove dash", `[1]`, `[{"op":"remove","path":"/-"}]`, ``, ErrIndexRange, false},
		{"replace key", `{"a":1}`, `[{"op":"replace","path":"/a","value":null}]`, `{"a":null}`, nil, false},
		{"replace item", `[1,2]`, `[{"op":"replace","path":"/0","value":{"x":1}}]`, `[{"x":1},2]`, nil, false},
		{"replace missing", `{"a":1}`, `[{"op":"replace","path":"/b","value":1}]`, ``, ErrNotFound, false},
		{"replace index range", `[1]`, `[{"op":"replace","path":"/1","value":1}]`, ``, ErrIndexRange, false},
		{"move key", `{"a":{"b":1},"c":{}}`, `[{"op":"move","from":"/a/b","path":"/c/d"}]`, `{"a":{},"c":{"d":1}}`, nil, false},
		{"move item", `[1,2,3,4]`, `[{"op":"move","from":"/0","path":"/3"}]`, `[2,3,4,1]`, nil, false},
		{"move item back", `[1,2,3,4]`, `[{"op":"move","from":"/3","path":"/0"}]`, `[4,1,2,3]`, nil, false},
		{"move to dash", `[1,2,3]`, `[{"op":"move","from":"/0","path":"/-"}]`, `[2,3,1]`, nil, false},
		{"move same", `{"a":1}`, `[{"op":"move","from":"/a","path":"/a"}]`, `{"a":1}`, nil, false},
		{"move into child", `{"a":{"b":1}}`, `[{"op":"move","from":"/a","path":"/a/b/c"}]`, ``, ErrBadPatch, false},
		{"move missing", `{"a":1}`, `[{"op":"move","from":"/x","path":"/b"}]`, ``, ErrNotFound, false},
		{"copy", `{"a":{"b":[1]}}`, `[{"op":"copy","from":"/a","path":"/c"},{"op":"add","path":"/c/b/-","value":2}]`,
			`{"a":{"b":[1]},"c":{"b":[1,2]}}`, nil, false},
		{"copy in list", `[[1],2]`, `[{"op":"copy","from":"/0","path":"/-"},{"op":"add","path":"/2/0","value":0}]`,
			`[[1],2,[0,1]]`, nil, false},
		{"copy missing", `{}`, `[{"op":"copy","from":"/a","path":"/b"}]`, ``, ErrNotFound, false},
		{"test ok", `{"a":[1,{"b":2.0}]}`, `[{"op":"test","path":"/a","value":[1.0,{"b":2}]}]`, `{"a":[1,{"b":2.0}]}`, nil, false},
		{"test fails all", `{"a":1}`, `[{"op":"add","path":"/b","value":1},{"op":"test","path":"/a","value":2}]`, ``, ErrTestFailed, false},
		{"test missing", `{"a":1}`, `[{"op":"test","path":"/b","value":1}]`, ``, ErrNotFound, false},
		{"atomic", `{"a":1}`, `[{"op":"remove","path":"/a"},{"op":"remove","path":"/a"}]`, ``, ErrNotFound, false},
		{"lenient replace missing", `{"a":1}`, `[{"op":"replace","path":"/b","value":2}]`, `{"a":1,"b":2}`, nil, true},
		{"lenient remove missing", `{"a":1}`, `[{"op":"remove","path":"/b"}]`, `{"a":1}`, nil, true},
		{"lenient remove index", `[1]`, `[{"op":"remove","path":"/5"}]`, `[1]`, nil, true},
		{"lenient add past end", `[1]`, `[{"op":"add","path":"/5","value":2}]`, `[1,2]`, nil, true},
		{"lenient replace past end", `[1]`, `[{"op":"replace","path":"/5","value":2}]`, `[1,2]`, nil, true},
		{"lenient missing parent", `{}`, `[{"op":"add","path":"/a/b","value":1}]`, ``, ErrNotFound, true},
		{"immer array path", `{"a":[1,2]}`, `[{"op":"replace","path":["a",1],"value":5}]`, `{"a":[1,5]}`, nil, false},
		{"escaped keys", `{"a/b":{"~":1}}`, `[{"op":"replace","path":"/a~1b/~0","value":2}]`, `{"a/b":{"~":2}}`, nil, false},
		{"numeric key in map", `{"0":1}`, `[{"op":"replace","path":"/0","value":2}]`, `{"0":2}`, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := parse(t, tc.doc)
			var opts []ApplyOption
			if tc.lenient {
				opts = append(opts, Lenient())
			}
			got, err := Apply(doc, parsePatches(t, tc.patches), opts...)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				var pe *PatchError
				if !errors.As(err, &pe) {
					t.Fatalf("not a *PatchError: %v", err)
				}
				if !got.Same(doc) {
					t.Fatal("failed apply did not return the input state")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.want {
				t.Fatalf("got %v want %s", got, tc.want)
			}
			if doc.String() != parse(t, tc.doc).String() {
				t.Fatal("input modified")
			}
		})
	}
}

func TestPatchJSONDecodeErrors(t *testing.T) {
	for _, s := range []string{
		`{}`, `{"op":"nope","path":""}`, `{"op":"add"}`, `{"op":"add","path":"/a"}`,
		`{"op":"move","path":"/a"}`, `{"op":"add","path":"a","value":1}`, `{"op":"add","path":[-1],"value":1}`,
		`{"op":"add","path":[true],"value":1}`, `{"op":"add","path":3,"value":1}`,
		`{"op":"replace","path":"/a","value":1,"delta":"x"}`, `[]`,
	} {
		var p Patch
		err := json.Unmarshal([]byte(s), &p)
		if !errors.Is(err, ErrBadPatch) && !errors.Is(err, ErrBadPointer) {
			t.Errorf("%s: err = %v", s, err)
		}
	}
}
