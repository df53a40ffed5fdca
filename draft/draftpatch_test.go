package draft

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDraftApplyPatchesMatchesApply checks that applying a patch document
// inside a draft gives what Apply gives, for successes and failures alike,
// and that the draft reports list changes as intent.
func TestDraftApplyPatchesMatchesApply(t *testing.T) {
	base, err := ParseJSON([]byte(`{"a":1,"list":[10,20,30],"m":{"x":"y"},"n":null}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, patch string
		lenient     bool
	}{
		{"add key", `[{"op":"add","path":"/b","value":2}]`, false},
		{"add list middle", `[{"op":"add","path":"/list/1","value":15}]`, false},
		{"add list end", `[{"op":"add","path":"/list/-","value":40}]`, false},
		{"add list past end", `[{"op":"add","path":"/list/9","value":40}]`, false},
		{"add list past end lenient", `[{"op":"add","path":"/list/9","value":40}]`, true},
		{"add missing parent", `[{"op":"add","path":"/zz/q","value":1}]`, false},
		{"replace", `[{"op":"replace","path":"/m/x","value":"z"}]`, false},
		{"replace missing", `[{"op":"replace","path":"/m/nope","value":"z"}]`, false},
		{"replace missing lenient", `[{"op":"replace","path":"/m/nope","value":"z"}]`, true},
		{"replace null", `[{"op":"replace","path":"/n","value":3}]`, false},
		{"replace root", `[{"op":"replace","path":"","value":{"r":1}}]`, false},
		{"remove key", `[{"op":"remove","path":"/a"}]`, false},
		{"remove list item", `[{"op":"remove","path":"/list/0"}]`, false},
		{"remove missing", `[{"op":"remove","path":"/nope"}]`, false},
		{"remove missing lenient", `[{"op":"remove","path":"/nope"}]`, true},
		{"test ok", `[{"op":"test","path":"/a","value":1.0},{"op":"add","path":"/t","value":true}]`, false},
		{"test fails", `[{"op":"add","path":"/t","value":true},{"op":"test","path":"/a","value":2}]`, false},
		{"test missing", `[{"op":"test","path":"/nope","value":2}]`, false},
		{"move within list", `[{"op":"move","from":"/list/0","path":"/list/2"}]`, false},
		{"move to list end", `[{"op":"move","from":"/list/0","path":"/list/-"}]`, false},
		{"move out of range", `[{"op":"move","from":"/list/5","path":"/list/0"}]`, false},
		{"move to map", `[{"op":"move","from":"/list/1","path":"/m/moved"}]`, false},
		{"move into own child", `[{"op":"move","from":"/m","path":"/m/x/y"}]`, false},
		{"move to itself", `[{"op":"move","from":"/a","path":"/a"}]`, false},
		{"copy", `[{"op":"copy","from":"/m","path":"/list/0"}]`, false},
		{"copy missing", `[{"op":"copy","from":"/nope","path":"/c"}]`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var patches []Patch
			if err := json.Unmarshal([]byte(c.patch), &patches); err != nil {
				t.Fatalf("decode %s: %v", c.patch, err)
			}
			var opts []ApplyOption
			if c.lenient {
				opts = append(opts, Lenient())
			}
			want, wantErr := Apply(base, patches, opts...)
			got, _, inverse, gotErr := Produce(base, func(d *Draft) error {
				return d.ApplyPatches(patches, opts...)
			})
			if (wantErr == nil) != (gotErr == nil) {
				t.Fatalf("Apply error %v, draft error %v", wantErr, gotErr)
			}
			if wantErr != nil {
				var pe *PatchError
				if !errors.As(gotErr, &pe) {
					t.Fatalf("draft error %v is not a *PatchError", gotErr)
				}
				for _, sentinel := range []error{ErrNotFound, ErrWrongType, ErrIndexRange, ErrBadPatch, ErrTestFailed} {
					if errors.Is(wantErr, sentinel) != errors.Is(gotErr, sentinel) {
						t.Fatalf("Apply error %v and draft error %v differ on %v", wantErr, gotErr, sentinel)
					}
				}
				if !got.Same(base) {
					t.Fatalf("a failed recipe must leave base: got %v", got)
				}
				return
			}
			if !got.Equal(want) {
				t.Fatalf("draft gave %v, Apply gave %v", got, want)
			}
			back, err := Apply(got, inverse)
			if err != nil || !back.Equal(base) {
				t.Fatalf("inverse patches do not restore base: %v, %v", back, err)
			}
		})
	}
}

func TestDraftApplyPatchesKeepsListIntent(t *testing.T) {
	base := MapOf(map[string]Value{"l": ListOf(Int(1), Int(2), Int(3))})
	var patches []Patch
	require.NoError(t, json.Unmarshal([]byte(`[{"op":"add","path":"/l/0","value":0},{"op":"move","from":"/l/0","path":"/l/3"}]`), &patches))
	next, got, _, err := Produce(base, func(d *Draft) error { return d.ApplyPatches(patches) })
	require.NoError(t, err)
	require.Len(t, got, 2, "an insert and a move, not a cascade: %v", got)
	assert.Equal(t, OpAdd, got[0].Op)
	assert.Equal(t, OpMove, got[1].Op)
	list, ok := next.Get("l")
	require.True(t, ok)
	b, err := json.Marshal(list)
	require.NoError(t, err)
	assert.JSONEq(t, `[1,2,3,0]`, string(b))
}

func TestDraftApplyPatchesFailedTestUnwraps(t *testing.T) {
	base := MapOf(map[string]Value{"a": Int(1)})
	patches := []Patch{{Op: OpTest, Path: P("a"), Value: Int(2)}}
	_, _, _, err := Produce(base, func(d *Draft) error { return d.ApplyPatches(patches) })
	require.ErrorIs(t, err, ErrTestFailed)
	var pe *PatchError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 0, pe.Index)
}
