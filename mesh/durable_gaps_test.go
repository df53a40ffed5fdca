package mesh

import (
	"context"
	"testing"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
	"github.com/syncmesh/syncmesh/mesh/store"
)

// Tests of a durable node with superseded-write elision (docs/crdt.md,
// "Superseded writes"): what it serves and what it stores when replies
// carry gaps.

// gapTestMillis is the injected physical time of these tests.
const gapTestMillis = 1_795_000_000_000

// manualDurableConfig is durableConfig with an injected physical clock.
func manualDurableConfig(name, dir string, pc clock.Physical) Config {
	cfg := durableConfig(name, dir)
	cfg.Physical = pc
	return cfg
}

// applyTo applies changes to a plain crdt document from their bytes.
func applyTo(t *testing.T, doc *crdt.Doc, cs []Change) {
	t.Helper()
	msgs := make([][]byte, len(cs))
	for i, c := range cs {
		msgs[i] = c.Data
	}
	if _, err := doc.ApplyEncoded(msgs...); err != nil {
		t.Fatal(err)
	}
}

// TestDurableServesNoGapPastDurableSeq: a durable node's write that its own
// later write overwrote, while that later write is not durable yet, goes to
// a peer whole, not as a gap standing on the later write. The node then
// crashes before the later write reaches the store (it comes back without
// it), and the peer and the node converge by anti-entropy. Had the peer
// got a gap, it would hold the node's version without the write the node
// kept, and neither would ever send the other anything.
func TestDurableServesNoGapPastDurableSeq(t *testing.T) {
	pc := clock.NewManual(gapTestMillis)
	dir := t.TempDir()
	ctx := context.Background()
	a := mustNew(t, manualDurableConfig("a", dir, pc))
	if err := a.Update(ctx, set("k", "v1")); err != nil {
		t.Fatal(err)
	}
	d := a.durable
	self := d.self
	a.mu.Lock()
	ch, _, err := d.Update(set("k", "v2")) // applied in memory, never written
	if err != nil {
		a.mu.Unlock()
		t.Fatal(err)
	}
	// Stand in for its write, not committed yet: an Ack that never
	// completes (its zero value).
	d.acks = append(d.acks, pendingWrite{end: ch.End, ack: &store.Ack{}})
	// Had both writes been durable, the first would go as a gap: the test
	// is about that reply.
	if full := d.inner.doc.ChangesSince(nil, 0); len(full) != 2 || !full[0].IsGap() || full[0].Until != ch.End {
		a.mu.Unlock()
		t.Fatalf("the reply with both writes: %d changes (first a gap: %v); elision did not apply", len(full), len(full) > 0 && full[0].IsGap())
	}
	served, more, err := d.ChangesSince(VersionVector{}, 1<<20)
	d.acks = d.acks[:len(d.acks)-1] // the crash: the write never completes
	a.mu.Unlock()
	if err != nil || more {
		t.Fatalf("ChangesSince: more %v, err %v", more, err)
	}
	if len(served) != 1 || served[0].Replica != self || served[0].Start != 1 || served[0].End != 1 {
		t.Fatalf("served %+v, want only own change 1..1", served)
	}
	c, err := crdt.DecodeChange(served[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if c.IsGap() {
		t.Fatalf("the durable write went as a gap until %d, past the durable seq 1", c.Until)
	}

	peer := remoteDoc(t, 99, pc)
	applyTo(t, peer, served)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := mustNew(t, manualDurableConfig("a", dir, pc))
	defer b.Close()
	if v := b.Version(); v[self] != 1 {
		t.Fatalf("after the crash, own seq %d, want 1 (2 never reached the store)", v[self])
	}
	// Anti-entropy both ways, until neither lacks anything.
	for range 3 {
		b.mu.Lock()
		toPeer, _, err := b.doc.ChangesSince(VersionVector(peer.Version()), 0)
		b.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		applyTo(t, peer, toPeer)
		ecs, err := peer.EncodedChangesSince(crdt.VersionVector(b.Version()), 0)
		if err != nil {
			t.Fatal(err)
		}
		toB := make([]Change, len(ecs))
		for i, e := range ecs {
			toB[i] = Change{Replica: e.Replica, Start: e.StartSeq, End: e.EndSeq, Data: e.Data}
		}
		b.mu.Lock()
		_, err = b.doc.Apply(toB)
		b.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	}
	got, want := valueKeys(peer.State()), keysOf(t, b)
	if !mapsEqual(got, want) || want["k"] != "v1" {
		t.Fatalf("after anti-entropy the peer holds %v, the node %v", got, want)
	}
}

// TestDurableStoresGapWhoseOverwriterWaits: a gap received before the
// write that overwrote what it stands for, while that write waits in the
// pending buffer (it depends on a third replica's change), is stored as
// applied; once the overwriter is released and stored too, a restart
// finds the author's whole sequence in the log, with no hole.
func TestDurableStoresGapWhoseOverwriterWaits(t *testing.T) {
	const author, third = clock.ReplicaID(99), clock.ReplicaID(98)
	pc := clock.NewManual(gapTestMillis)
	src, other := remoteDoc(t, author, pc), remoteDoc(t, third, pc)
	tc, err := other.Update(set("t", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Apply(tc); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Update(set("k", "v1")); err != nil {
		t.Fatal(err)
	}
	// Overwrites k (eliding seq 1) and t, which needs the third replica's
	// change: applied elsewhere only once that change is there.
	over, err := src.Update(func(d *draft.Draft) error {
		if err := set("k", "v2")(d); err != nil {
			return err
		}
		return set("t", "y")(d)
	})
	if err != nil {
		t.Fatal(err)
	}
	var gap *crdt.Change
	for _, c := range src.ChangesSince(crdt.VersionVector{third: 1}, 0) {
		if c.IsGap() {
			gap = c
		}
	}
	if gap == nil || gap.StartSeq != 1 || gap.EndSeq() != 1 || gap.Until != over.StartSeq {
		t.Fatalf("the author's reply holds no gap 1..1 until %d: %+v", over.StartSeq, gap)
	}

	dir := t.TempDir()
	a := mustNew(t, manualDurableConfig("a", dir, pc))
	a.mu.Lock()
	for i, batch := range [][]Change{{meshChange(gap)}, {meshChange(over)}, {meshChange(tc)}} {
		if _, err := a.doc.Apply(batch); err != nil {
			a.mu.Unlock()
			t.Fatalf("batch %d: %v", i, err)
		}
		if i == 1 && a.durable.inner.doc.PendingLen() != 1 {
			a.mu.Unlock()
			t.Fatalf("the overwriter should wait for the third replica's change: %d pending", a.durable.inner.doc.PendingLen())
		}
	}
	a.mu.Unlock()
	want := VersionVector{author: over.EndSeq(), third: 1}
	if v := a.Version(); !v.Covers(want) {
		t.Fatalf("version %v, want %v", v, want)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	b := mustNew(t, manualDurableConfig("a", dir, pc))
	defer b.Close()
	if v := b.Version(); !v.Covers(want) {
		t.Fatalf("version after restart %v, want %v", v, want)
	}
	b.mu.Lock()
	logged := b.durable.inner.doc.LoggedSince(nil)
	pending := b.durable.inner.doc.PendingLen()
	b.mu.Unlock()
	if pending != 0 {
		t.Fatalf("%d changes pending after restart", pending)
	}
	next := map[clock.ReplicaID]uint64{}
	for _, c := range logged {
		if c.StartSeq != next[c.Replica]+1 {
			t.Fatalf("the log of %s jumps from %d to %d..%d", c.Replica, next[c.Replica], c.StartSeq, c.EndSeq())
		}
		next[c.Replica] = c.EndSeq()
	}
	if next[author] != over.EndSeq() || next[third] != 1 {
		t.Fatalf("the log reaches %v, want %v", next, want)
	}
	if got, want := keysOf(t, b), valueKeys(src.State()); !mapsEqual(got, want) {
		t.Fatalf("after restart:\n got %v\nwant %v", got, want)
	}
}
