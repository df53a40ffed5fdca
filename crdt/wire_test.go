package crdt

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt/internal/seq"
	"github.com/syncmesh/syncmesh/draft"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files in testdata/")

// sampleChanges covers every op kind and field.
func sampleChanges() []*Change {
	ts := clock.Timestamp{Wall: 1_764_000_000_000, Logical: 3, Replica: 7}
	e := OpID{Replica: 9, Seq: 4}
	return []*Change{
		{Replica: 7, StartSeq: 12, Timestamp: ts, Ops: []Op{
			{Kind: OpSet, Path: []Segment{KeySeg("m")}, Key: KeySeg("k1"), Value: draft.Int(5), Pred: []OpID{{Replica: 7, Seq: 3}}},
		}},
		{Replica: 7, StartSeq: 13, Timestamp: clock.Timestamp{Wall: ts.Wall + 1, Replica: 7}, Ops: []Op{
			{Kind: OpSet, Key: KeySeg("s"), Value: draft.String("héllo")},
			{Kind: OpSet, Key: KeySeg("f"), Value: draft.Float(-2.5)},
			{Kind: OpSet, Key: KeySeg("n"), Value: draft.Null()},
			{Kind: OpSet, Key: KeySeg("b"), Value: draft.Bool(true)},
			{Kind: OpSet, Key: KeySeg("y"), Value: draft.Bytes([]byte{0, 1, 2})},
			{Kind: OpSet, Key: KeySeg("map"), Value: draft.EmptyMap()},
			{Kind: OpSet, Key: KeySeg("list"), Value: draft.EmptyList()},
			{Kind: OpDelete, Path: []Segment{KeySeg("a")}, Key: KeySeg("b"), Pred: []OpID{{Replica: 9, Seq: 1}},
				Ctx:   VersionVector{7: 12, 9: 5},
				Marks: []CounterMark{{Rel: []Segment{KeySeg("c")}, Replica: 9, Seq: 2, Int: -4, Float: 0.5}}},
			{Kind: OpInc, Path: []Segment{KeySeg("c")}, Key: KeySeg("n"), Value: draft.Int(-300)},
			{Kind: OpInsert, Path: []Segment{KeySeg("l")}, Value: draft.Int(1), Origins: seq.Origins{Left: e}},
			{Kind: OpInsert, Path: []Segment{KeySeg("l")}, Value: draft.Int(2), Origins: seq.Origins{Right: e}},
			{Kind: OpSet, Path: []Segment{KeySeg("l")}, Key: ElemSeg(e), Value: draft.Int(3), Pred: []OpID{e}},
			{Kind: OpMove, Path: []Segment{KeySeg("l"), ElemSeg(e)}, Key: ElemSeg(OpID{Replica: 7, Seq: 1}), Origins: seq.Origins{Left: e}},
		}},
	}
}

func TestWireRoundTrip(t *testing.T) {
	cs := sampleChanges()
	for _, c := range cs {
		b := EncodeChange(c)
		got, err := DecodeChange(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(EncodeChange(got), b) {
			t.Fatalf("re-encoding differs")
		}
		if fmtChange(got) != fmtChange(c) {
			t.Fatalf("round trip:\n%s\n%s", fmtChange(got), fmtChange(c))
		}
		// Any msgpack library reads it.
		var generic any
		if err := msgpack.Unmarshal(b, &generic); err != nil {
			t.Fatalf("not valid msgpack: %v", err)
		}
	}
	b := EncodeChanges(cs)
	got, err := DecodeChanges(b)
	if err != nil || len(got) != 2 {
		t.Fatal(err, len(got))
	}
	if _, err := DecodeChange(b); !errors.Is(err, ErrVersion) {
		t.Fatalf("batch decoded as a single change: %v", err)
	}
}

// A single small write is tens of bytes.
func TestWireSmallWrite(t *testing.T) {
	a := newReplica(t, 0x1234567890abcdef, nil)
	a.update(t, set("/m", obj()))
	a.update(t, set("/m/k1", draft.Int(1)))
	c := a.update(t, set("/m/k1", draft.Int(2)))
	n := len(EncodeChange(c))
	if n > 64 {
		t.Fatalf("single write encodes to %d bytes", n)
	}
	t.Logf("single LWW write: %d bytes", n)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: encoding changed:\n got %x\nwant %x", name, got, want)
	}
}

func TestWireGolden(t *testing.T) {
	cs := sampleChanges()
	golden(t, "change-v1.bin", EncodeChange(cs[0]))
	golden(t, "batch-v1.bin", EncodeChanges(cs))
}

func TestWireRejects(t *testing.T) {
	good := EncodeChange(sampleChanges()[1])
	for i := range good {
		if _, err := DecodeChange(good[:i]); err == nil {
			t.Fatalf("truncated at %d accepted", i)
		}
	}
	bad := append([]byte{}, good...)
	bad[1] = 2 // version
	if _, err := DecodeChange(bad); !errors.Is(err, ErrVersion) {
		t.Fatalf("version: %v", err)
	}
	// a huge array length must not allocate
	huge := []byte{0x94, 1, 1, 0x91, 7, 0xdd, 0xff, 0xff, 0xff, 0xff}
	if _, err := DecodeChange(huge); err == nil {
		t.Fatal("huge length accepted")
	}
}

func FuzzDecodeChange(f *testing.F) {
	for _, c := range sampleChanges() {
		f.Add(EncodeChange(c))
	}
	f.Add(EncodeChanges(sampleChanges()))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := DecodeChanges(b)
		one, oerr := DecodeChange(b)
		if oerr == nil && (err != nil || len(cs) != 1 || !reflect.DeepEqual(fmtChanges([]*Change{one}), fmtChanges(cs))) {
			t.Fatalf("DecodeChange %v disagrees with DecodeChanges %v (%v)", fmtChanges([]*Change{one}), fmtChanges(cs), err)
		}
		if err != nil {
			return
		}
		again, err := DecodeChanges(EncodeChanges(cs))
		if err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		if !reflect.DeepEqual(fmtChanges(again), fmtChanges(cs)) {
			t.Fatalf("unstable round trip")
		}
		// Applying a decoded change never panics.
		d := newReplica(t, 99, nil)
		_, _ = d.Apply(cs...)
	})
}

func fmtChanges(cs []*Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmtChange(c))
	}
	return out
}

// Decoding one small change allocates for that change, not for a batch.
func TestDecodeSingleChangeAllocates(t *testing.T) {
	b := EncodeChange(sampleChanges()[0])
	const n = 200
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		if _, err := DecodeChange(b); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	per := (after.TotalAlloc - before.TotalAlloc) / n
	if per > 2048 {
		t.Fatalf("decoding a %d-byte change allocates %d bytes", len(b), per)
	}
	t.Logf("%d-byte change: %d bytes allocated", len(b), per)
}

// A batch's ops in one container share one decoded path; a different path
// in between or after decodes on its own.
func TestDecodeBatchSharesPaths(t *testing.T) {
	ts := clock.Timestamp{Wall: 1_764_000_000_000, Replica: 7}
	e := OpID{Replica: 7, Seq: 1}
	paths := [][]Segment{{KeySeg("m")}, {KeySeg("m")}, {KeySeg("m"), ElemSeg(e)}, {KeySeg("m"), ElemSeg(e)}, nil, {KeySeg("mm")}, {KeySeg("m")}}
	var cs []*Change
	for i, p := range paths {
		cs = append(cs, &Change{Replica: 7, StartSeq: uint64(2 + i), Timestamp: ts, Ops: []Op{
			{Kind: OpSet, Path: p, Key: KeySeg("k"), Value: draft.Int(int64(i))},
		}})
	}
	got, err := DecodeChanges(EncodeChanges(cs))
	if err != nil {
		t.Fatal(err)
	}
	if g, w := fmtChanges(got), fmtChanges(cs); !reflect.DeepEqual(g, w) {
		t.Fatalf("round trip:\n%v\n%v", g, w)
	}
	if &got[0].Ops[0].Path[0] != &got[1].Ops[0].Path[0] {
		t.Fatal("consecutive equal paths not shared")
	}
	if p := got[0].Ops[0].Path; cap(p) != len(p) {
		t.Fatalf("shared path has spare capacity %d > %d: an append would write into it", cap(p), len(p))
	}
}
