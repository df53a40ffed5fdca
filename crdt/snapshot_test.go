package crdt

import (
	"bytes"
	"errors"
	"testing"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt/internal/seq"
	"github.com/syncmesh/syncmesh/draft"
)

func sampleDoc(t testing.TB) *replica {
	a := newReplica(t, 7, NewStrategies().MustSet("/c", Count()))
	b := newReplica(t, 9, NewStrategies().MustSet("/c", Count()))
	a.update(t, set("/m", obj("x", draft.Int(1), "s", draft.String("hi"))))
	a.update(t, set("/l", draft.ListOf(draft.Int(1), draft.Int(2), draft.Int(3))))
	a.update(t, set("/c", draft.Float(2.5)))
	b.apply(t, a.ChangesSince(nil, 0)...)
	b.update(t, set("/m/x", draft.Int(2)))
	b.update(t, func(d *draft.Draft) error { return d.Move(draft.MustParsePointer("/l"), 0, 2) })
	b.update(t, del("/l/0"))
	a.update(t, set("/m/x", draft.Bool(true)))
	a.apply(t, b.ChangesSince(nil, 0)...)
	return a
}

func TestSnapshotRoundTripAndGolden(t *testing.T) {
	a := sampleDoc(t)
	b := EncodeSnapshot(a.Snapshot())
	s, err := DecodeSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(EncodeSnapshot(s), b) {
		t.Fatal("re-encoding differs")
	}
	golden(t, "snapshot-v1.bin", b)
	x := newReplica(t, 11, NewStrategies().MustSet("/c", Count()))
	if _, err := x.MergeSnapshot(s); err != nil {
		t.Fatal(err)
	}
	if dump(x.Doc) != dump(a.Doc) {
		t.Fatalf("loaded snapshot differs:\n%s\n---\n%s", dump(x.Doc), dump(a.Doc))
	}
	if _, err := DecodeSnapshot(b[:len(b)-1]); err == nil {
		t.Fatal("truncated snapshot accepted")
	}
	if _, err := DecodeSnapshot(EncodeChange(sampleChanges()[0])); !errors.Is(err, ErrVersion) {
		t.Fatalf("change decoded as snapshot: %v", err)
	}
}

func FuzzDecodeSnapshot(f *testing.F) {
	f.Add(EncodeSnapshot(sampleDoc(f).Snapshot()))
	f.Add(EncodeSnapshot(newReplica(f, 1, nil).Snapshot()))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSnapshot(b)
		if err != nil {
			return
		}
		again, err := DecodeSnapshot(EncodeSnapshot(s))
		if err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		if !bytes.Equal(EncodeSnapshot(again), EncodeSnapshot(s)) {
			t.Fatal("unstable round trip")
		}
		x := newReplica(t, 5, nil)
		if _, err := x.MergeSnapshot(s); err == nil {
			checkConsistent(t, x.Doc)
			y, err := Restore(DefaultConfig(5, newReplica(t, 5, nil).clk), b)
			if err != nil {
				t.Fatalf("Restore refuses what MergeSnapshot takes: %v", err)
			}
			if dump(y) != dump(x.Doc) {
				t.Fatalf("Restore differs from MergeSnapshot:\n%s\n---\n%s", dump(y), dump(x.Doc))
			}
		}
	})
}

func TestSnapshotRejectsCyclicOrigins(t *testing.T) {
	a, b := OpID{Replica: 1, Seq: 1}, OpID{Replica: 1, Seq: 2}
	el := func(id OpID) snapElem {
		return snapElem{id: id, pos: id, slot: &snapSlot{entries: []entry{{id: id, ts: clockTS(1), val: draft.Int(1)}}}}
	}
	s := &Snapshot{vv: VersionVector{1: 2}, root: &snapNode{keys: []string{"l"}, slots: []*snapSlot{{
		entries: []entry{},
		child: &snapNode{list: &snapList{
			slots: []snapPos{{id: a, org: seq.Origins{Left: b}}, {id: b, org: seq.Origins{Right: a}}},
			elems: []snapElem{el(a), el(b)},
		}},
	}}}}
	x := newReplica(t, 5, nil)
	if _, err := x.MergeSnapshot(s); !errors.Is(err, ErrMalformed) {
		t.Fatalf("cyclic origins: %v", err)
	}
	// and through the wire format
	if d, err := DecodeSnapshot(EncodeSnapshot(s)); err == nil {
		if _, err := x.MergeSnapshot(d); !errors.Is(err, ErrMalformed) {
			t.Fatalf("cyclic origins after decoding: %v", err)
		}
	}
}

func clockTS(r clock.ReplicaID) clock.Timestamp {
	return clock.Timestamp{Wall: 1_700_000_000_000, Replica: r}
}

// FuzzApply decodes mutated changes that are nearly ready on a populated
// document and applies them: Apply must never panic, and the state must
// stay a render of the registers.
func FuzzApply(f *testing.F) {
	base := sampleDoc(f)
	peer := newReplica(f, 11, NewStrategies().MustSet("/c", Count()))
	peer.apply(f, base.ChangesSince(nil, 0)...)
	for _, rec := range []func(d *draft.Draft) error{
		set("/m/y", draft.Int(3)),
		del("/m"),
		set("/l/0", draft.String("z")),
		func(d *draft.Draft) error { return d.Insert(draft.P("l", 1), draft.EmptyMap()) },
		func(d *draft.Draft) error { return d.Move(draft.P("l"), 0, 1) },
		func(d *draft.Draft) error { return d.Increment(draft.P("c"), draft.Float(1.5)) },
		del("/l/1"),
		set("/l", draft.ListOf(draft.Int(9))),
	} {
		if c := peer.update(f, rec); c != nil {
			f.Add(EncodeChange(c))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := DecodeChanges(b)
		if err != nil {
			return
		}
		x := newReplica(t, 12, NewStrategies().MustSet("/c", Count()))
		if _, err := x.MergeSnapshot(base.Snapshot()); err != nil {
			t.Fatal(err)
		}
		_, _ = x.Apply(cs...)
		checkConsistent(t, x.Doc)
		if msg := flagCheck(x.Doc, x.root); msg != "" {
			t.Fatal(msg)
		}
	})
}
