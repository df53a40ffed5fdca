package crdt

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
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
	gs := sampleGaps()
	golden(t, "change-v2-gap.bin", EncodeChange(gs[1]))
	golden(t, "batch-v2-gaps.bin", EncodeChanges(gs))
}

// sampleGaps is a reply with gaps (version 2): a change, a gap of the
// same author after it, another author's gap, and a change after the gap.
func sampleGaps() []*Change {
	cs := sampleChanges()
	ts := clock.Timestamp{Wall: 1_764_000_000_009, Logical: 1, Replica: 7}
	return []*Change{
		cs[0],
		{Replica: 7, StartSeq: 13, Timestamp: ts, Elided: 40, Until: 60},
		{Replica: 9, StartSeq: 1, Timestamp: clock.Timestamp{Wall: 1_764_000_000_002, Replica: 9}, Elided: 3, Until: 5},
		{Replica: 7, StartSeq: 53, Timestamp: clock.Timestamp{Wall: ts.Wall + 1, Replica: 7}, Ops: []Op{
			{Kind: OpSet, Path: []Segment{KeySeg("m")}, Key: KeySeg("k1"), Value: draft.Int(6), Pred: []OpID{{Replica: 7, Seq: 30}}},
		}},
	}
}

func TestWireGapRoundTrip(t *testing.T) {
	gs := sampleGaps()
	for _, c := range gs {
		b := EncodeChange(c)
		got, err := DecodeChange(b)
		if err != nil {
			t.Fatal(err)
		}
		if fmtChange(got) != fmtChange(c) || !bytes.Equal(EncodeChange(got), b) {
			t.Fatalf("round trip:\n%s\n%s", fmtChange(got), fmtChange(c))
		}
		ci, err := ReadChangeInfo(b)
		if err != nil || ci.StartSeq != c.StartSeq || ci.EndSeq != c.EndSeq() || ci.Elided != c.Elided || ci.Until != c.Until || ci.Timestamp != c.Timestamp {
			t.Fatalf("ReadChangeInfo %+v %v for %s", ci, err, fmtChange(c))
		}
		if want := uint64(wireVersion); c.Elided > 0 {
			if b[1] != wireVersionGap {
				t.Fatalf("a gap's message is version %d", b[1])
			}
		} else if uint64(b[1]) != want {
			t.Fatalf("a change's message is version %d", b[1])
		}
	}
	b := EncodeChanges(gs)
	got, err := DecodeChanges(b)
	if err != nil || !reflect.DeepEqual(fmtChanges(got), fmtChanges(gs)) {
		t.Fatalf("batch: %v\n%v\n%v", err, fmtChanges(got), fmtChanges(gs))
	}
	// Without a gap a batch is still version 1.
	if b := EncodeChanges(sampleChanges()); b[1] != wireVersion {
		t.Fatalf("batch without gaps is version %d", b[1])
	}
}

// Malformed gaps are rejected, by the decoders and by Apply.
func TestWireGapRejects(t *testing.T) {
	g := sampleGaps()[1]
	good := EncodeChange(g)
	for i := range good {
		if _, err := DecodeChange(good[:i]); err == nil {
			t.Fatalf("truncated at %d accepted", i)
		}
	}
	v1 := slices.Clone(good)
	v1[1] = wireVersion // a gap's form in a version 1 message
	if _, err := DecodeChange(v1); err == nil {
		t.Fatal("gap in a version 1 message accepted")
	}
	if _, err := ReadChangeInfo(v1); err == nil {
		t.Fatal("ReadChangeInfo: gap in a version 1 message accepted")
	}
	for _, bad := range []Change{
		{Replica: 7, StartSeq: 13, Timestamp: g.Timestamp, Elided: 2, Until: 14},            // Until inside
		{Replica: 7, StartSeq: 13, Timestamp: g.Timestamp, Elided: 1 << 63, Until: 1 << 63}, // overflow
		{Replica: 7, StartSeq: 13, Timestamp: g.Timestamp, Elided: 2, Until: 20, Ops: sampleChanges()[0].Ops},
		{Replica: 7, StartSeq: 13, Timestamp: g.Timestamp, Ops: sampleChanges()[0].Ops, Until: 20}, // Until without a gap
	} {
		b := EncodeChange(&bad)
		if _, err := DecodeChange(b); err == nil && bad.Elided > 0 {
			t.Fatalf("%s decoded", fmtChange(&bad))
		}
		if _, err := ReadChangeInfo(b); err == nil && bad.Elided > 0 {
			t.Fatalf("%s: ReadChangeInfo accepted it", fmtChange(&bad))
		}
		d := newReplica(t, 1, nil)
		if res, err := d.Apply(&bad); !errors.Is(err, ErrMalformed) || res.Rejected != 1 {
			t.Fatalf("%s applied: %+v %v", fmtChange(&bad), res, err)
		}
	}
}

func TestWireRejects(t *testing.T) {
	good := EncodeChange(sampleChanges()[1])
	for i := range good {
		if _, err := DecodeChange(good[:i]); err == nil {
			t.Fatalf("truncated at %d accepted", i)
		}
	}
	bad := append([]byte{}, good...)
	bad[1] = 3 // version (1, and 2 with gaps, are known)
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
	for _, c := range sampleGaps() {
		f.Add(EncodeChange(c))
	}
	f.Add(EncodeChanges(sampleGaps()))
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
