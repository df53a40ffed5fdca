package crdt

import (
	"errors"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
)

// A change stamped too far ahead of physical time is quarantined: not
// applied, clock untouched; RetryQuarantined applies it once time catches up.
func TestQuarantineAndRetry(t *testing.T) {
	const t0 = 1_700_000_000_000
	a, physA := newDriftBoundReplica(t, t0)
	b := newReplica(t, 2, nil)
	b.phys.Set(t0 + 10_000) // 10 s ahead
	c := b.update(t, set("/x", draft.Int(1)))
	before := a.clk.Last()
	res, err := a.Apply(c)
	if err != nil || res.Quarantined != 1 || res.Applied != 0 {
		t.Fatalf("res %+v err %v", res, err)
	}
	if a.clk.Last() != before || a.Version()[2] != 0 || len(a.Quarantined()) != 1 {
		t.Fatal("a quarantined change moved the clock or the version vector")
	}
	if res, _ := a.RetryQuarantined(); res.Applied != 0 || len(a.Quarantined()) != 1 {
		t.Fatalf("retried too early: %+v", res)
	}
	physA.Set(t0 + 9_600)
	res, err = a.RetryQuarantined()
	if err != nil || res.Applied != 1 || len(a.Quarantined()) != 0 {
		t.Fatalf("retry: %+v %v", res, err)
	}
	if got := mustJSON(t, a.State()); got != `{"x":1}` {
		t.Fatal(got)
	}
}

// A full pending buffer drops (and counts) changes; they arrive again later
// and nothing is lost.
func TestPendingBounded(t *testing.T) {
	a := newReplica(t, 1, nil)
	cs := a.writeInts(t, "/x", 5)
	clk, _ := clock.New(clock.Config{Replica: 2, Physical: clock.NewManual(1_700_000_000_000), MaxDrift: time.Hour})
	cfg := DefaultConfig(2, clk)
	cfg.MaxPending = 2
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.Apply(cs[1:]...)
	if !errors.Is(err, ErrPendingFull) || res.Pending != 2 || res.Dropped != 2 || b.PendingLen() != 2 {
		t.Fatalf("res %+v err %v pending %d", res, err, b.PendingLen())
	}
	if _, err := b.Apply(cs[0]); err != nil {
		t.Fatal(err)
	}
	if b.PendingLen() != 0 || b.Version()[1] != 3 {
		t.Fatalf("pending %d vv %v", b.PendingLen(), b.Version())
	}
	// anti-entropy: ask for what is missing
	if _, err := b.Apply(a.ChangesSince(b.Version(), 0)...); err != nil {
		t.Fatal(err)
	}
	if mustJSON(t, b.State()) != mustJSON(t, a.State()) {
		t.Fatal("did not converge")
	}
}

// A change carrying our own replica id that we never made is rejected.
func TestReplicaCollision(t *testing.T) {
	a := newReplica(t, 1, nil)
	imposter := newReplica(t, 1, nil)
	imposter.phys.Advance(time.Second)
	c := imposter.update(t, set("/x", draft.Int(1)))
	res, err := a.Apply(c)
	if !errors.Is(err, ErrReplica) || res.Rejected != 1 {
		t.Fatalf("res %+v err %v", res, err)
	}
}

func TestChangesSinceBounded(t *testing.T) {
	a := newReplica(t, 1, nil)
	a.log.whole = true // every change, no gaps (elide_test.go has those)
	for i := range 50 {
		a.update(t, set("/x", draft.Int(int64(i))))
	}
	all := a.ChangesSince(nil, 0)
	if len(all) != 50 {
		t.Fatal(len(all))
	}
	some := a.ChangesSince(VersionVector{1: 10}, 500)
	if len(some) == 0 || len(some) >= 40 || some[0].StartSeq != 11 {
		t.Fatalf("%d changes from %d", len(some), some[0].StartSeq)
	}
	if got := a.ChangesSince(a.Version(), 0); len(got) != 0 {
		t.Fatal("changes for an up-to-date peer")
	}
}

func TestMalformedChangesRejected(t *testing.T) {
	a := newReplica(t, 1, nil)
	ts := clock.Timestamp{Wall: 1_700_000_000_000, Replica: 2}
	for _, c := range []*Change{
		nil,
		{Replica: 2, StartSeq: 1, Timestamp: ts},
		{Replica: 2, StartSeq: 0, Timestamp: ts, Ops: []Op{{Kind: OpDelete, Key: KeySeg("x")}}},
		{Replica: 3, StartSeq: 1, Timestamp: ts, Ops: []Op{{Kind: OpDelete, Key: KeySeg("x")}}},
		{Replica: 2, StartSeq: 1, Timestamp: ts, Ops: []Op{{Kind: OpSet, Key: KeySeg("x")}}},
		{Replica: 2, StartSeq: 1, Timestamp: ts, Ops: []Op{{Kind: OpSet, Key: KeySeg("x"), Value: draft.ListOf(draft.Int(1))}}},
		{Replica: 2, StartSeq: 1, Timestamp: ts, Ops: []Op{{Kind: OpInc, Key: KeySeg("x"), Value: draft.String("1")}}},
		{Replica: 2, StartSeq: 1, Timestamp: ts, Ops: []Op{{Kind: 99}}},
		{Replica: 2, StartSeq: 1, Timestamp: ts, Ops: []Op{{Kind: OpDelete, Key: KeySeg("x"), Pred: []OpID{{Replica: 2, Seq: 1}}}}},
	} {
		if res, err := a.Apply(c); !errors.Is(err, ErrMalformed) || res.Rejected != 1 {
			t.Errorf("accepted %v: %+v %v", c, res, err)
		}
	}
}

func TestUpdatePatchesRejectsRootAndBadPatches(t *testing.T) {
	a := newReplica(t, 1, nil)
	a.update(t, set("/x", draft.Int(1)))
	for _, ps := range [][]draft.Patch{
		{{Op: draft.OpReplace, Path: draft.Path{}, Value: draft.EmptyMap()}},
		{{Op: draft.OpRemove, Path: draft.P("missing")}},
		{{Op: draft.OpAdd, Path: draft.P("x", "y"), Value: draft.Int(1)}},
	} {
		before := dump(a.Doc)
		if _, err := a.UpdatePatches(ps); err == nil {
			t.Errorf("%v accepted", ps)
		}
		if dump(a.Doc) != before {
			t.Errorf("%v changed the document", ps)
		}
	}
	c, err := a.UpdatePatches([]draft.Patch{
		{Op: draft.OpAdd, Path: draft.P("l"), Value: draft.ListOf(draft.Int(1), draft.Int(2))},
		{Op: draft.OpCopy, From: draft.P("l", 0), Path: draft.Path{draft.Key("l"), draft.End()}},
		{Op: draft.OpMove, From: draft.P("x"), Path: draft.P("y")},
		{Op: draft.OpTest, Path: draft.P("y"), Value: draft.Int(1)},
	})
	if err != nil || c == nil {
		t.Fatal(err)
	}
	checkConsistent(t, a.Doc)
	if got := a.json(t); got != `{"l":[1,2,1],"y":1}` {
		t.Fatal(got)
	}
}

// newDriftBoundReplica returns replica 1 on a manual physical clock set to
// t0 (ms) with a 500 ms drift bound: changes stamped further ahead than
// that are quarantined until the returned clock is moved on.
func newDriftBoundReplica(t *testing.T, t0 int64) (*Doc, *clock.Manual) {
	t.Helper()
	phys := clock.NewManual(t0)
	clk, err := clock.New(clock.Config{Replica: 1, Physical: phys, MaxDrift: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(DefaultConfig(1, clk))
	if err != nil {
		t.Fatal(err)
	}
	return d, phys
}
