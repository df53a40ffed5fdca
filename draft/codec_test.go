package draft

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files under testdata/")

// goldenPatches covers every op, escaped and numeric-looking keys, every
// value kind and an increment delta.
func goldenPatches() []Patch {
	v := MapOf(map[string]Value{
		"null": Null(), "bool": Bool(true), "int": Int(-7), "float": Float(2.5),
		"str": String("héllo \"x\""), "bytes": Bytes([]byte{0, 1, 255}),
		"list": ListOf(Int(1), ListOf(), EmptyMap()),
	})
	return []Patch{
		{Op: OpAdd, Path: P("todos", 2), Value: String("buy milk")},
		{Op: OpRemove, Path: P("todos", 0)},
		{Op: OpReplace, Path: P("count"), Value: Int(6), Delta: Int(1)},
		{Op: OpReplace, Path: P("ratio"), Value: Float(1), Delta: Float(0.5)},
		{Op: OpMove, From: P("todos", 0), Path: P("todos", 3)},
		{Op: OpCopy, From: P("a/b", "~k"), Path: P("c", End())},
		{Op: OpTest, Path: P("doc", "0"), Value: v},
		{Op: OpReplace, Path: Path{}, Value: Null()},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s changed:\n got %q\nwant %q", name, got, want)
	}
}

func TestGoldenPatchesJSON(t *testing.T) {
	b, err := json.MarshalIndent(goldenPatches(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "patches.json", append(b, '\n'))
	var back []Patch
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.MarshalIndent(back, "", "  ")
	if !bytes.Equal(again, b) {
		t.Fatalf("JSON round trip differs:\n%s", again)
	}
	imm, err := ImmerJSON(goldenPatches()[:5])
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "patches.immer.json", append(imm, '\n'))
	var fromImmer []Patch
	if err := json.Unmarshal(imm, &fromImmer); err != nil {
		t.Fatal(err)
	}
	if jsonOf(fromImmer) != jsonOf(goldenPatches()[:5]) {
		t.Fatalf("Immer JSON round trip differs: %s", jsonOf(fromImmer))
	}
}

func TestGoldenPatchesMsgpack(t *testing.T) {
	b, err := MarshalPatchesMsgpack(goldenPatches())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "patches.msgpack", b)
	back, err := UnmarshalPatchesMsgpack(b)
	if err != nil {
		t.Fatal(err)
	}
	if jsonOf(back) != jsonOf(goldenPatches()) {
		t.Fatalf("msgpack round trip differs:\n%s\n%s", jsonOf(back), jsonOf(goldenPatches()))
	}
	// Typed segments survive msgpack (JSON pointers lose them).
	if i, ok := back[0].Path[1].AsIndex(); !ok || i != 2 || !back[6].Path[1].IsKey() {
		t.Fatal("segment types lost")
	}
	// The library's own entry points use the same encoding.
	lib, err := msgpack.Marshal(goldenPatches())
	if err != nil || !bytes.Equal(lib, b) {
		t.Fatalf("msgpack.Marshal differs: %v", err)
	}
	var viaLib []Patch
	if err := msgpack.Unmarshal(b, &viaLib); err != nil || jsonOf(viaLib) != jsonOf(back) {
		t.Fatalf("msgpack.Unmarshal: %v", err)
	}
}

func TestValueCodecs(t *testing.T) {
	v := goldenPatches()[6].Value
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back Value
	if err := msgpack.Unmarshal(b, &back); err != nil || !back.Equal(v) {
		t.Fatalf("msgpack value round trip: %v %v", err, back)
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"bool":true,"bytes":"AAH/","float":2.5,"int":-7,"list":[1,[],{}],"null":null,"str":"héllo \"x\""}`
	if string(j) != want {
		t.Fatalf("json %s", j)
	}
	for _, s := range []string{`1.0`, `1e+300`, `-0.5`, `9223372036854775807`, `[1,2.0,"x",null,{"a":{}}]`} {
		x, err := ParseJSON([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := x.MarshalJSON()
		y, _ := ParseJSON(out)
		if !x.Equal(y) {
			t.Errorf("%s: round trip %s", s, out)
		}
	}
	if x, _ := ParseJSON([]byte(`1.0`)); x.Kind() != FloatKind {
		t.Error("1.0 should be a float")
	}
	if x, _ := ParseJSON([]byte(`99999999999999999999`)); x.Kind() != FloatKind {
		t.Error("huge integer should be a float")
	}
	for _, bad := range []string{``, `{`, `[1,]`, `1 2`, `{"a":1}x`} {
		if _, err := ParseJSON([]byte(bad)); !errors.Is(err, ErrBadValue) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzPatchJSON(f *testing.F) {
	seed, _ := json.Marshal(goldenPatches())
	f.Add(seed)
	f.Add([]byte(`[{"op":"add","path":["a",0],"value":1}]`))
	f.Add([]byte(`[{"op":"move","path":"/a","from":"/b~1c"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ps []Patch
		if err := json.Unmarshal(data, &ps); err != nil {
			return
		}
		// Whatever decodes must encode, decode again to the same thing
		// and be safe to Apply.
		b, err := json.Marshal(ps)
		if err != nil {
			return // e.g. a value that was decoded from a huge float literal
		}
		var again []Patch
		if err := json.Unmarshal(b, &again); err != nil || jsonOf(again) != string(b) {
			t.Fatalf("re-decode: %v\n%s\n%s", err, b, jsonOf(again))
		}
		_, _ = Apply(EmptyMap(), ps)
		_, _ = Apply(ListOf(Int(1)), ps, Lenient())
	})
}

func FuzzPatchMsgpack(f *testing.F) {
	seed, _ := MarshalPatchesMsgpack(goldenPatches())
	f.Add(seed)
	f.Add([]byte{0x91, 0x82, 0xa2, 'o', 'p', 0xa6, 'r', 'e', 'm', 'o', 'v', 'e', 0xa4, 'p', 'a', 't', 'h', 0x91, 0x00})
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := UnmarshalPatchesMsgpack(data)
		if err != nil {
			if !errors.Is(err, ErrBadPatch) && !errors.Is(err, ErrBadPointer) && !errors.Is(err, ErrBadValue) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		b, err := MarshalPatchesMsgpack(ps)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := UnmarshalPatchesMsgpack(b)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		b2, _ := MarshalPatchesMsgpack(again)
		if !bytes.Equal(b, b2) {
			t.Fatal("encoding not stable")
		}
		_, _ = Apply(EmptyMap(), ps)
	})
}
