package mesh

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
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

// TestDurableGapsRandomCrashes drives a durable node A and two plain
// replicas P and Q through random steps (seeded PCG): writes over a few
// keys everywhere (most overwritten, so replies carry gaps), A's own
// writes made durable late and in bursts, anti-entropy in byte-limited
// pieces, A receiving random parts of replies in random order (so gaps
// arrive before their overwriters, which may wait for a third replica's
// change), and crashes of A that lose its writes not yet durable. A peer
// must never hold more of A than A has made durable, and at the end, after
// a full exchange, the three agree, and agree again after A restarts once
// more. SYNCMESH_GAP_SEEDS raises the number of seeds.
func TestDurableGapsRandomCrashes(t *testing.T) {
	seeds := 6
	if s := os.Getenv("SYNCMESH_GAP_SEEDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		seeds = n
	}
	var gaps gapCounts
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { gapCrashRun(t, seed, &gaps) })
	}
	t.Logf("gaps served by A: %d, offered to A: %d", gaps.served, gaps.received)
	if !t.Failed() && (gaps.served == 0 || gaps.received == 0) {
		t.Fatalf("the histories exercised no gaps: %+v", gaps)
	}
}

// gapCounts counts the gaps a gapCrashRun saw.
type gapCounts struct{ served, received int }

// gapCrashRun is one history of TestDurableGapsRandomCrashes.
func gapCrashRun(t *testing.T, seed uint64, gaps *gapCounts) {
	const steps = 150
	rng := rand.New(rand.NewPCG(seed, 0x9a95))
	ctx := context.Background()
	pc := clock.NewManual(gapTestMillis)
	dir := t.TempDir()
	p, q := remoteDoc(t, 97, pc), remoteDoc(t, 98, pc)
	a := mustNew(t, manualDurableConfig("a", dir, pc))
	defer func() { a.Close() }()
	var unwritten []Change // A's own changes applied but never written
	val := 0
	write := func(doc func(func(*draft.Draft) error) error) {
		val++
		if err := doc(set(fmt.Sprintf("k%d", rng.IntN(4)), strconv.Itoa(val))); err != nil {
			t.Fatalf("seed %d: write: %v", seed, err)
		}
	}
	plainWrite := func(d *crdt.Doc) func(func(*draft.Draft) error) error {
		return func(r func(*draft.Draft) error) error { _, err := d.Update(r); return err }
	}
	flush := func(k int) {
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, ch := range unwritten[:k] {
			ack, err := a.durable.writeLocal(ch)
			if err != nil {
				t.Fatalf("seed %d: write: %v", seed, err)
			}
			if err := ack.Wait(ctx); err != nil {
				t.Fatalf("seed %d: ack: %v", seed, err)
			}
		}
		unwritten = unwritten[k:]
	}
	limit := func() int { return []int{0, 200, 600, 2000}[rng.IntN(4)] }
	// fromA is A's reply to doc, applied whole.
	fromA := func(doc *crdt.Doc, maxBytes int) {
		a.mu.Lock()
		cs, _, err := a.durable.ChangesSince(VersionVector(doc.Version()), maxBytes)
		durable := a.durable.durableSelf
		a.mu.Unlock()
		if err != nil {
			t.Fatalf("seed %d: A's reply: %v", seed, err)
		}
		for _, c := range cs {
			if c.Replica != a.durable.self {
				continue
			}
			dc, err := crdt.DecodeChange(c.Data)
			if err != nil {
				t.Fatalf("seed %d: A served %d..%d: %v", seed, c.Start, c.End, err)
			}
			if dc.IsGap() {
				gaps.served++
				if dc.Until > durable {
					t.Fatalf("seed %d: A served %d..%d as a gap until %d, durable only up to %d", seed, c.Start, c.End, dc.Until, durable)
				}
			}
		}
		applyTo(t, doc, cs)
		if got := doc.VersionOf(a.durable.self); got > durable {
			t.Fatalf("seed %d: a peer holds A up to %d, durable only up to %d", seed, got, durable)
		}
	}
	// toA delivers to A a reply of doc's, or (partial) a random part of it
	// in random order.
	toA := func(doc *crdt.Doc, maxBytes int, partial bool) {
		ecs, err := doc.EncodedChangesSince(crdt.VersionVector(a.Version()), maxBytes)
		if err != nil {
			t.Fatalf("seed %d: reply to A: %v", seed, err)
		}
		cs := make([]Change, 0, len(ecs))
		for _, e := range ecs {
			if ci, err := crdt.DecodeChange(e.Data); err == nil && ci.IsGap() {
				gaps.received++
			}
			if !partial || rng.IntN(3) > 0 {
				cs = append(cs, Change{Replica: e.Replica, Start: e.StartSeq, End: e.EndSeq, Data: e.Data})
			}
		}
		if partial {
			rng.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		for len(cs) > 0 {
			n := 1 + rng.IntN(len(cs))
			if _, err := a.durable.Apply(cs[:n]); err != nil {
				t.Fatalf("seed %d: A applies: %v", seed, err)
			}
			cs = cs[n:]
		}
	}
	between := func(from, to *crdt.Doc, maxBytes int) {
		ecs, err := from.EncodedChangesSince(to.Version(), maxBytes)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		msgs := make([][]byte, len(ecs))
		for i, e := range ecs {
			msgs[i] = e.Data
		}
		if _, err := to.ApplyEncoded(msgs...); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
	crash := func() {
		if err := a.Close(); err != nil {
			t.Fatalf("seed %d: close: %v", seed, err)
		}
		unwritten = nil
		n, err := New(manualDurableConfig("a", dir, pc))
		if err != nil {
			t.Fatalf("seed %d: restart: %v", seed, err)
		}
		a = n
	}
	for range steps {
		switch k := rng.IntN(20); {
		case k < 5:
			a.mu.Lock()
			write(func(r func(*draft.Draft) error) error {
				ch, _, err := a.durable.Update(r)
				unwritten = append(unwritten, ch)
				return err
			})
			a.mu.Unlock()
		case k < 7:
			write(plainWrite(p))
		case k < 8:
			write(plainWrite(q))
		case k < 10:
			flush(rng.IntN(len(unwritten) + 1))
		case k < 12:
			fromA(p, limit())
		case k < 13:
			fromA(q, limit())
		case k < 15:
			toA(p, limit(), true)
		case k < 16:
			toA(q, limit(), true)
		case k < 18:
			between(p, q, limit())
			between(q, p, limit())
		case k < 19:
			crash()
		default:
			toA(p, 0, false)
		}
	}
	flush(len(unwritten))
	for range 4 {
		fromA(p, 0)
		fromA(q, 0)
		between(p, q, 0)
		between(q, p, 0)
		toA(p, 0, false)
		toA(q, 0, false)
	}
	check := func(when string) {
		av, pv, qv := valueKeys(a.State()), valueKeys(p.State()), valueKeys(q.State())
		if !mapsEqual(av, pv) || !mapsEqual(av, qv) {
			t.Fatalf("seed %d, %s: states differ\nA %v (version %v)\nP %v (version %v)\nQ %v (version %v)",
				seed, when, av, a.Version(), pv, p.Version(), qv, q.Version())
		}
	}
	check("after the exchange")
	crash()
	check("after a restart")
}
