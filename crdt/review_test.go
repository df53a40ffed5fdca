package crdt

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
)

// This file holds a reviewer's adversarial tests of superseded-write
// elision (elide.go) and compact list elements (compactelems.go): random
// histories that mix gaps with compaction, snapshot catch-up, restarts
// from a snapshot, small pending buffers, strategies, nested containers
// replaced by their author, type clashes and list moves, checked against
// a replica that got every original change and against the original ops
// each gap stands for.

// reviewRuns is the number of random histories of a review test; raise
// it with CRDT_REVIEW_RUNS for a soak.
func reviewRuns(def int) int { return runsFrom("CRDT_REVIEW_RUNS", def) }

// opIndex holds every original op by id: the ground truth gaps are
// checked against.
type opIndex map[OpID]*Op

func (ix opIndex) add(c *Change) {
	for i := range c.Ops {
		ix[c.ID(i)] = &c.Ops[i]
	}
}

// sameRegister reports whether ops a and b write the same register.
func sameRegister(a, b *Op) bool { return a.Key == b.Key && slices.Equal(a.Path, b.Path) }

// verifyGaps checks every gap of a reply against the original ops it
// stands for: each is a plain write (an OpSet with no Ctx, no Marks and
// only its author's ids in Pred), and an op of its author at the same
// register with a seq up to the gap's Until sets or deletes that register
// (the write that overwrote it; checkGaps checks that the reply reaches
// Until).
func (ix opIndex) verifyGaps(cs []*Change) error {
	for _, g := range cs {
		if g.Elided == 0 {
			continue
		}
		for s := g.StartSeq; s <= g.EndSeq(); s++ {
			op := ix[OpID{Replica: g.Replica, Seq: s}]
			if op == nil {
				return fmt.Errorf("gap %s stands for op %d, which nobody made", fmtChange(g), s)
			}
			if op.Kind != OpSet || op.Ctx != nil || len(op.Marks) > 0 {
				return fmt.Errorf("gap %s stands for op %d (kind %v), not a plain write", fmtChange(g), s, op.Kind)
			}
			for _, p := range op.Pred {
				if p.Replica != g.Replica {
					return fmt.Errorf("gap %s stands for op %d whose Pred names %v", fmtChange(g), s, p)
				}
			}
			found := false
			for u := s + 1; u <= g.Until && !found; u++ {
				o := ix[OpID{Replica: g.Replica, Seq: u}]
				found = o != nil && (o.Kind == OpSet || o.Kind == OpDelete) && sameRegister(o, op)
			}
			if !found {
				return fmt.Errorf("gap %s: no op of its author up to Until overwrites op %d at %v/%v", fmtChange(g), s, op.Path, op.Key)
			}
		}
	}
	return nil
}

// reviewExchange is src's anti-entropy reply to r at v (byte limit
// maxBytes) in one of its forms, checked (checkGaps, verifyGaps) and
// applied whole, shuffled with a duplicate, or one by one; a reader below
// src's floor takes src's snapshot instead. A full pending buffer is not
// an error (the changes dropped are asked for again). It returns the gaps.
func reviewExchange(rng *rand.Rand, r, src *replica, v VersionVector, maxBytes int, ix opIndex) (int, error) {
	cs, buf, err := replyIn(rng, src, v, maxBytes, 3)
	if errors.Is(err, ErrCompacted) {
		sn, derr := DecodeSnapshot(EncodeSnapshot(src.Snapshot()))
		if derr != nil {
			return 0, derr
		}
		_, err = r.MergeSnapshot(sn)
		return 0, err
	}
	if err != nil {
		return 0, err
	}
	if err := checkGaps(cs, v); err != nil {
		return 0, err
	}
	if err := ix.verifyGaps(cs); err != nil {
		return 0, err
	}
	switch {
	case buf != nil:
		_, err = r.ApplyEncoded(buf)
	case rng.IntN(2) == 0:
		_, err = r.Apply(shuffledWithDuplicate(rng, cs)...)
	default:
		for _, c := range cs {
			if _, err = r.Apply(c); err != nil && !errors.Is(err, ErrPendingFull) {
				break
			}
		}
	}
	if errors.Is(err, ErrPendingFull) {
		err = nil
	}
	return countGaps(cs), err
}

// reviewRecipe is an edit aimed at elision's edges: overwrites at
// registers with strategies, counters, a nested map its author writes
// into and then replaces (with a scalar, a fresh map, a list: type
// clashes) or deletes, list elements set, deleted, moved and inserted
// next to, and now and then a random edit.
func reviewRecipe(rng *rand.Rand) func(d *draft.Draft) error {
	return func(d *draft.Draft) error {
		cur := d.Current()
		num := draft.Int(int64(rng.IntN(100)))
		key := func(k ...string) draft.Path {
			p := make(draft.Path, len(k))
			for i := range k {
				p[i] = draft.Key(k[i])
			}
			return p
		}
		switch rng.IntN(12) {
		case 0: // strategies: multi, max, min, custom
			return d.Set(key([]string{"m", "mx", "cu"}[rng.IntN(3)]), num)
		case 1:
			if o, ok := cur.Get("mn"); !ok || o.Kind() != draft.MapKind {
				return d.Set(key("mn"), obj("p", num))
			}
			return d.Set(key("mn", subKeys[rng.IntN(2)]), num)
		case 2: // counters: set, then increments
			if c, ok := cur.Get("c"); !ok || c.Kind() != draft.MapKind {
				return d.Set(key("c"), obj("p", num))
			}
			k := subKeys[rng.IntN(2)]
			if x, ok := cur.At(key("c", k)); ok && x.Kind() == draft.IntKind && rng.IntN(3) > 0 {
				return d.Increment(key("c", k), draft.Int(int64(rng.IntN(5)-2)))
			}
			return d.Set(key("c", k), num)
		case 3, 4: // a nested map written into, then replaced
			o, ok := cur.Get("o")
			switch r := rng.IntN(10); {
			case !ok || o.Kind() != draft.MapKind || r == 0:
				return d.Set(key("o"), obj("x", num))
			case r == 1:
				return d.Set(key("o"), num) // a scalar over the map
			case r == 2:
				return d.Set(key("o"), draft.ListOf(num)) // a list over the map
			case r == 3:
				return d.Delete(key("o"))
			default:
				return d.Set(key("o", subKeys[rng.IntN(3)]), num)
			}
		case 5, 6: // list elements
			l, ok := cur.Get("l")
			if !ok || l.Kind() != draft.ListKind {
				return d.Set(key("l"), draft.ListOf(num))
			}
			n := l.Len()
			at := func(i int) draft.Path { return draft.Path{draft.Key("l"), draft.Index(i)} }
			switch r := rng.IntN(10); {
			case r < 3 || n == 0:
				return d.Insert(at(rng.IntN(n+1)), num)
			case r < 7:
				return d.Set(at(rng.IntN(n)), num)
			case r < 8:
				return d.Delete(at(rng.IntN(n)))
			default:
				return d.ListAt(key("l")).Move(rng.IntN(n), rng.IntN(n))
			}
		case 7, 8, 9, 10: // plain overwrites at shared registers
			return d.Set(key(topKeys[rng.IntN(2)]), num)
		}
		return randomRecipe(rng)(d)
	}
}

// TestReviewElisionHistories: 3 to 5 replicas (some with small pending
// buffers) edit at elision's edges and exchange originals by gossip and
// gaps by anti-entropy (stale vectors, byte limits, relays), while
// replicas compact at the true frontier, catch up by snapshot when a
// reader is below a floor, merge each other's snapshots, and restart
// from their own snapshots. Every reply's gaps are checked against the
// original ops (a plain write, overwritten by its author at its register
// within Until, which the reply reaches); in the end every replica equals
// a reference that got every original change.
func TestReviewElisionHistories(t *testing.T) {
	t.Logf("seed %d (CRDT_SEED=n to set it, CRDT_REVIEW_RUNS=n for more runs)", propSeed())
	runGapHistories(t, reviewRuns(16), "CRDT_REVIEW_RUNS", runReviewHistory)
}

// restartFromSnapshot replaces r by a document restored from its own
// snapshot, its clock resumed from where it was (a restart that loses
// the op log, pending and quarantined changes).
func restartFromSnapshot(r *replica, st *Strategies, pend, pendBytes int) error {
	clk, err := clock.New(clock.Config{Replica: r.Replica(), Physical: r.phys, MaxDrift: time.Hour, Resume: r.clk.Last()})
	if err != nil {
		return err
	}
	cfg := DefaultConfig(r.Replica(), clk)
	cfg.Strategies = st
	cfg.MaxPending, cfg.MaxPendingBytes = pend, pendBytes
	d, err := Restore(cfg, EncodeSnapshot(r.Snapshot()))
	if err != nil {
		return err
	}
	r.Doc = d
	return nil
}

func runReviewHistory(t *testing.T, seed uint64) (gaps int, msg string) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			msg = fmt.Sprintf("panic: %v", p)
		}
	}()
	rng := rand.New(rand.NewPCG(seed, seed^0x5e71e))
	st := propStrategies()
	nrep := 3 + rng.IntN(3)
	reps := make([]*replica, nrep)
	pend := make([][2]int, nrep)
	for i := range reps {
		reps[i] = newReplica(t, clock.ReplicaID(i+1), st)
		pend[i] = [2]int{DefaultMaxPending, DefaultMaxPendingBytes}
		if rng.IntN(2) == 0 {
			pend[i] = [2]int{1 + rng.IntN(6), 200 + rng.IntN(2000)}
			reps[i].cfg.MaxPending, reps[i].cfg.MaxPendingBytes = pend[i][0], pend[i][1]
		}
	}
	ix := opIndex{}
	var all []*Change
	olds := map[int][]VersionVector{}
	var frontiers []VersionVector // true frontiers seen (a stale one stays valid)
	limit := func() int {
		if rng.IntN(3) == 0 {
			return 0
		}
		return 1 + rng.IntN(500)
	}
	// Churn: none (gaps travel far), compaction only, or compaction,
	// snapshot merges and restarts (which leave logs with floors).
	events := []int{35, 37, 40}[rng.IntN(3)]
	for step := range 120 + rng.IntN(120) {
		ri := rng.IntN(nrep)
		r := reps[ri]
		fail := func(what string, err error) (int, string) {
			return gaps, fmt.Sprintf("step %d, replica %s: %s: %v", step, r.Replica(), what, err)
		}
		switch k := rng.IntN(events); {
		case k < 18: // a local edit
			r.phys.Advance(time.Duration(rng.IntN(3)) * time.Millisecond)
			c, err := r.Update(reviewRecipe(rng))
			if errors.Is(err, ErrPath) {
				continue
			}
			if err != nil {
				return fail("update", err)
			}
			if c != nil {
				all = append(all, c)
				ix.add(c)
			}
		case k < 22: // gossip of originals: a subset, shuffled, duplicates
			var batch []*Change
			for range rng.IntN(6) {
				if len(all) > 0 {
					batch = append(batch, all[rng.IntN(len(all))])
				}
			}
			if _, err := r.Apply(batch...); err != nil && !errors.Is(err, ErrPendingFull) {
				return fail("gossip", err)
			}
		case k < 35: // anti-entropy, maybe from a stale vector
			src := reps[rng.IntN(nrep)]
			v := r.Version()
			if old := olds[ri]; len(old) > 0 && rng.IntN(3) == 0 {
				v = old[rng.IntN(len(old))]
			}
			n, err := reviewExchange(rng, r, src, v, limit(), ix)
			if err != nil {
				return fail("anti-entropy from "+src.Replica().String(), err)
			}
			gaps += n
			olds[ri] = append(olds[ri], r.Version())
		case k < 37: // compaction at the true frontier, now or earlier
			f := frontierOf(reps)
			if len(frontiers) > 0 && rng.IntN(3) > 0 {
				f = frontiers[rng.IntN(len(frontiers))]
			}
			frontiers = append(frontiers, frontierOf(reps))
			r.Compact(f)
			// CheckFloor agrees with ChangesSinceErr, at the frontier
			// and at stale vectors.
			for _, old := range append(olds[rng.IntN(nrep)], f) {
				_, e1 := r.ChangesSinceErr(old, 0)
				e2 := r.CheckFloor(old)
				if (e1 == nil) != (e2 == nil) {
					return fail("floor check", fmt.Errorf("ChangesSinceErr %v, CheckFloor %v at %v", e1, e2, old))
				}
			}
		case k < 39: // a merged snapshot of another replica
			src := reps[rng.IntN(nrep)]
			sn, err := DecodeSnapshot(EncodeSnapshot(src.Snapshot()))
			if err != nil {
				return fail("snapshot", err)
			}
			if _, err := r.MergeSnapshot(sn); err != nil {
				return fail("merge snapshot", err)
			}
		default: // a restart from its own snapshot
			if err := restartFromSnapshot(r, st, pend[ri][0], pend[ri][1]); err != nil {
				return fail("restart", err)
			}
		}
		if msg := consistency(r.Doc); msg != "" {
			return gaps, fmt.Sprintf("step %d, replica %s: %s", step, r.Replica(), msg)
		}
	}
	ref, n, msg := settleWithReference(t, rng, st, reps, all, 8*nrep, limit,
		func(r, src *replica, v VersionVector, maxBytes int) (int, error) {
			return reviewExchange(rng, r, src, v, maxBytes, ix)
		})
	gaps += n
	if msg != "" {
		return gaps, msg
	}
	f := frontierOf(append(slices.Clone(reps), ref))
	ref.Compact(f)
	want, wantSnap := dump(ref.Doc), EncodeSnapshot(ref.Snapshot())
	for _, r := range reps {
		r.Compact(f)
		if got := dump(r.Doc); got != want {
			return gaps, fmt.Sprintf("replica %s diverges from the reference:\n--- want\n%s\n--- got\n%s", r.Replica(), want, got)
		}
		if !bytes.Equal(EncodeSnapshot(r.Snapshot()), wantSnap) {
			return gaps, fmt.Sprintf("replica %s: snapshot bytes differ from the reference", r.Replica())
		}
		if msg := consistency(r.Doc); msg != "" {
			return gaps, "final: " + msg
		}
	}
	return gaps, ""
}

// TestReviewCompactElementsTwins: replica a makes compact list elements
// (local scalar inserts), and its twin b makes the same changes and
// expands every register after each; replica c edits concurrently: it
// inserts next to them, sets and deletes them, moves them, and replaces
// or deletes the list itself (hiding it, then showing it again), in lists
// whose elements have strategies. After every step a and b show the same
// state and the same conflicts at every element; now and then they are
// compacted at the frontier, merge c's snapshot, or are compared by
// snapshot bytes; in the end a, b and c hold the same registers.
func TestReviewCompactElementsTwins(t *testing.T) {
	base := propSeed()
	t.Logf("seed %d (CRDT_SEED=%d, CRDT_REVIEW_RUNS=n for more)", base, base)
	st := NewStrategies().
		MustSet("/lm/*", Multi()).
		MustSet("/lx/*", Maximum()).
		MustSet("/lc/*", Count())
	seen := 0
	for run := range reviewRuns(8) {
		seed := base + uint64(run)
		n, msg := runCompactTwins(t, seed, st)
		if msg != "" {
			t.Fatalf("seed %d: %s (rerun: CRDT_SEED=%d CRDT_REVIEW_RUNS=1 go test -run TestReviewCompactElementsTwins -count=1 ./crdt/)", seed, msg, seed)
		}
		seen += n
	}
	t.Logf("most compact elements at once, summed over histories: %d", seen)
	if seen == 0 {
		t.Fatal("no compact element was ever made")
	}
}

func runCompactTwins(t *testing.T, seed uint64, st *Strategies) (sawCompact int, msg string) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			msg = fmt.Sprintf("panic: %v", p)
		}
	}()
	rng := rand.New(rand.NewPCG(seed, seed^0xc0ec7))
	a, b := newReplica(t, 1, st), newReplica(t, 1, st)
	c := newReplica(t, 2, st)
	var fromA, fromC []*Change
	lists := []string{"l", "lm", "lx", "lc"}
	lenOf := func(r *replica, k string) int {
		if l, ok := r.State().Get(k); ok && l.Kind() == draft.ListKind {
			return l.Len()
		}
		return -1
	}
	at := func(k string, i int) draft.Path { return draft.Path{draft.Key(k), draft.Index(i)} }
	edit := func(r *replica, k string, n int, step int, own bool) func(d *draft.Draft) error {
		v := draft.Value(draft.Int(int64(step)))
		if rng.IntN(4) == 0 {
			v = draft.String("s" + strconv.Itoa(step))
		}
		if n < 0 {
			return set("/"+k, draft.ListOf(v))
		}
		switch x := rng.IntN(20); {
		case x < 10 || n == 0:
			i := rng.IntN(n + 1)
			return func(d *draft.Draft) error { return d.Insert(at(k, i), v) }
		case x < 13:
			i := rng.IntN(n)
			return func(d *draft.Draft) error { return d.Set(at(k, i), v) }
		case x < 15:
			i := rng.IntN(n)
			return func(d *draft.Draft) error { return d.Delete(at(k, i)) }
		case x < 17:
			i, j := rng.IntN(n), rng.IntN(n)
			return func(d *draft.Draft) error { return d.Move(draft.Path{draft.Key(k)}, i, j) }
		case x == 17 && !own:
			return set("/"+k, v) // a scalar over the list (a type clash)
		case x == 18 && !own:
			return del("/" + k)
		default:
			// Several inserts and a write to one of them in one change.
			i, m := rng.IntN(n+1), 1+rng.IntN(3) // drawn once: twins run the recipe each
			return func(d *draft.Draft) error {
				for range m {
					if err := d.Insert(at(k, i), v); err != nil {
						return err
					}
				}
				return d.Set(at(k, i), draft.Int(-1))
			}
		}
	}
	twins := func(what string, conflicts bool) string {
		if sa, sb := mustJSON(t, a.State()), mustJSON(t, b.State()); sa != sb {
			return fmt.Sprintf("%s: states differ:\n%s\n%s", what, sa, sb)
		}
		for _, k := range lists {
			if !conflicts {
				break // Conflicts reads (and so expands) every element
			}
			for i := range max(lenOf(a, k), 0) {
				ca, cb := a.Conflicts(at(k, i)), b.Conflicts(at(k, i))
				if fmt.Sprint(ca) != fmt.Sprint(cb) {
					return fmt.Sprintf("%s: conflicts at /%s/%d differ: %v, %v", what, k, i, ca, cb)
				}
			}
		}
		return ""
	}
	for step := range 250 {
		r := rng.IntN(10)
		k := lists[rng.IntN(len(lists))]
		switch {
		case r < 6: // a and its twin
			f := edit(a, k, lenOf(a, k), step, true)
			a.phys.Advance(time.Millisecond)
			b.phys.Advance(time.Millisecond)
			ca, errA := a.Update(f)
			cb, errB := b.Update(f)
			if (errA == nil) != (errB == nil) {
				return sawCompact, fmt.Sprintf("step %d: twins disagree on an update: %v, %v", step, errA, errB)
			}
			if errA != nil {
				continue
			}
			if fmt.Sprint(ca) != fmt.Sprint(cb) {
				return sawCompact, fmt.Sprintf("step %d: twins made different changes:\n%v\n%v", step, ca, cb)
			}
			if ca != nil {
				fromA = append(fromA, ca)
			}
			expandLists(b.root)
		case r < 8: // c, concurrently; a and b get it (not rendering first)
			cc, err := c.Update(edit(c, k, lenOf(c, k), step, false))
			c.phys.Advance(time.Millisecond)
			if err != nil || cc == nil {
				continue
			}
			fromC = append(fromC, cc)
			if rng.IntN(2) == 0 {
				if _, err := a.Apply(cc); err != nil {
					return sawCompact, "a: " + err.Error()
				}
				if _, err := b.Apply(cc); err != nil {
					return sawCompact, "b: " + err.Error()
				}
				expandLists(b.root)
			}
		case r == 8: // c catches up with a (by anti-entropy: gaps too)
			cs, err := a.ChangesSinceErr(c.Version(), 0)
			if err != nil {
				return sawCompact, "a's reply: " + err.Error()
			}
			if _, err := c.Apply(cs...); err != nil {
				return sawCompact, "c: " + err.Error()
			}
		default: // a read path on a (b reads it too)
			switch rng.IntN(4) {
			case 0:
				f := frontierOf([]*replica{a, c})
				a.Compact(f)
				b.Compact(f)
			case 1:
				sa, sb := EncodeSnapshot(a.Snapshot()), EncodeSnapshot(b.Snapshot())
				if !bytes.Equal(sa, sb) {
					return sawCompact, fmt.Sprintf("step %d: twins' snapshots differ", step)
				}
			case 2:
				sn := c.Snapshot()
				if _, err := a.MergeSnapshot(sn); err != nil {
					return sawCompact, "a merge: " + err.Error()
				}
				if _, err := b.MergeSnapshot(sn); err != nil {
					return sawCompact, "b merge: " + err.Error()
				}
				expandLists(b.root)
			default:
				if msg := consistency(a.Doc); msg != "" {
					return sawCompact, fmt.Sprintf("step %d: a: %s", step, msg)
				}
			}
		}
		sawCompact = max(sawCompact, compactCount(a.root))
		if msg := twins(fmt.Sprintf("step %d", step), rng.IntN(8) == 0); msg != "" {
			return sawCompact, msg
		}
	}
	if _, err := a.Apply(fromC...); err != nil {
		return sawCompact, err.Error()
	}
	if _, err := b.Apply(fromC...); err != nil {
		return sawCompact, err.Error()
	}
	if _, err := c.Apply(fromA...); err != nil {
		return sawCompact, err.Error()
	}
	if msg := twins("end", true); msg != "" {
		return sawCompact, msg
	}
	da, db, dc := dump(a.Doc), dump(b.Doc), dump(c.Doc)
	if da != db || dump(a.Doc) != dc {
		return sawCompact, fmt.Sprintf("registers differ:\n%s\n---\n%s\n---\n%s", da, db, dc)
	}
	return sawCompact, ""
}

// A gap whose timestamp is far ahead of the receiver's clock is
// quarantined like any change, ready or not: it moves neither the clock
// nor the version vector, and is applied once the clock catches up.
func TestReviewGapQuarantined(t *testing.T) {
	a := newReplica(t, 1, nil)
	a1 := a.update(t, set("/x", draft.Int(1)))
	a.phys.Advance(2 * time.Hour) // past the receivers' MaxDrift (1h)
	a.writeInts(t, "/x", 3)       // overwrites: 2 and 3 become a gap
	reply := a.ChangesSince(VersionVector{1: 1}, 0)
	if len(reply) != 2 || reply[0].Elided != 2 || reply[0].Ops != nil {
		t.Fatalf("reply %v, want a gap of 2 and its overwriter", fmtChanges(reply))
	}
	for _, tc := range []struct {
		name  string
		first []*Change // applied before the reply
	}{
		{"ready", []*Change{a1}},
		{"not ready", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newReplica(t, 3, nil)
			c.apply(t, tc.first...)
			before, vv := c.clk.Last(), c.Version()
			res, err := c.Apply(reply[0])
			if err != nil || res.Quarantined != 1 || c.QuarantinedLen() != 1 {
				t.Fatalf("gap: %+v, %v, %d quarantined; want it quarantined", res, err, c.QuarantinedLen())
			}
			if _, err := c.Apply(reply[1]); err != nil {
				t.Fatal(err)
			}
			if c.clk.Last() != before || !c.Version().Equal(vv) || c.PendingLen() != 0 {
				t.Fatalf("clock %v (was %v), version %v (was %v), %d pending: the gap moved something", c.clk.Last(), before, c.Version(), vv, c.PendingLen())
			}
			c.phys.Advance(2 * time.Hour)
			if _, err := c.RetryQuarantined(); err != nil {
				t.Fatal(err)
			}
			if tc.first == nil {
				c.apply(t, a1)
			}
			if c.QuarantinedLen() != 0 || c.PendingLen() != 0 || !c.Version().Equal(a.Version()) {
				t.Fatalf("after the retry: %d quarantined, %d pending, version %v, want %v", c.QuarantinedLen(), c.PendingLen(), c.Version(), a.Version())
			}
			if got, want := dump(c.Doc), dump(a.Doc); got != want {
				t.Fatalf("registers differ:\n%s\n---\n%s", got, want)
			}
		})
	}
}

// The pending buffer's bounds hold with gaps: a gap replacing a buffered
// change counts its own size, a gap that does not fit is dropped (and
// asked for again), and the buffer's bytes return to zero once it drains.
func TestReviewGapPendingBounds(t *testing.T) {
	a := newReplica(t, 1, nil)
	a1 := a.update(t, set("/y", draft.Int(0)))
	big := a.update(t, set("/x", draft.String(string(bytes.Repeat([]byte("v"), 300)))))
	rest := a.writeInts(t, "/x", 3) // big and the first two are overwritten
	reply := a.ChangesSince(VersionVector{1: 1}, 0)
	if len(reply) != 2 || reply[0].StartSeq != big.StartSeq || reply[0].Elided != 3 {
		t.Fatalf("reply %v, want a gap of 3 from %d and its overwriter", fmtChanges(reply), big.StartSeq)
	}
	c := newReplica(t, 3, nil)
	c.cfg.MaxPending, c.cfg.MaxPendingBytes = 2, 400
	c.apply(t, big) // buffered: a1 is missing
	if c.pending.n != 1 || c.pending.bytes < 300 {
		t.Fatalf("pending %d changes, %d bytes after the big write", c.pending.n, c.pending.bytes)
	}
	c.apply(t, reply[0]) // the same start, reaching further: replaces it
	if c.pending.n != 1 || c.pending.bytes != changeSize(reply[0]) {
		t.Fatalf("pending %d changes, %d bytes, want the gap alone (%d bytes)", c.pending.n, c.pending.bytes, changeSize(reply[0]))
	}
	c.apply(t, rest[0]) // covered by the gap: buffered, a duplicate once it applies
	res, err := c.Apply(reply[1])
	if !errors.Is(err, ErrPendingFull) || res.Dropped != 1 {
		t.Fatalf("a third buffered change: %+v, %v; want it dropped", res, err)
	}
	c.apply(t, a1)
	if c.pending.n != 0 || c.pending.bytes != 0 || c.VersionOf(1) != reply[0].EndSeq() {
		t.Fatalf("after a1: %d pending, %d bytes, version %d; want 0, 0, %d", c.pending.n, c.pending.bytes, c.VersionOf(1), reply[0].EndSeq())
	}
	// The overwriter was dropped: the gap's Until is not reached, so c
	// must not serve the gap on.
	if cs := c.ChangesSince(nil, 0); countGaps(cs) != 0 {
		t.Fatalf("c serves %v without the overwriter", fmtChanges(cs))
	}
	if err := checkGaps(c.ChangesSince(VersionVector{1: 1}, 0), VersionVector{1: 1}); err != nil {
		t.Fatal(err)
	}
	c.apply(t, a.ChangesSince(c.Version(), 0)...)
	if got, want := dump(c.Doc), dump(a.Doc); got != want {
		t.Fatalf("registers differ:\n%s\n---\n%s", got, want)
	}
}

// TestReviewPiecewiseRelay: an author's long run of overwrites (longer
// than the planner's cutWalk) travels in byte-limited pieces from the
// author to r2 and, while r2 is still catching up, from r2 to r3 (which
// relays the gaps r2 received): every piece advances its reader, holds
// only gaps whose overwriters it reaches and which the original ops
// justify, and all three end equal.
func TestReviewPiecewiseRelay(t *testing.T) {
	seed := propSeed()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e1a7))
	a := newReplica(t, 1, nil)
	ix := opIndex{}
	n := 6000
	if testing.Short() {
		n = 1500
	}
	for i := range n {
		var f func(d *draft.Draft) error
		switch k := "/k" + strconv.Itoa(rng.IntN(4)); rng.IntN(20) {
		case 0:
			f = set("/big", draft.String(strconv.Itoa(i)+string(bytes.Repeat([]byte("x"), rng.IntN(400)))))
		case 1:
			f = set("/u"+strconv.Itoa(i), draft.Int(int64(i))) // never overwritten
		default:
			f = set(k, draft.Int(int64(i)))
		}
		c := a.update(t, f)
		ix.add(c)
	}
	r2, r3 := newReplica(t, 2, nil), newReplica(t, 3, nil)
	pull := func(dst, src *replica, limit int) (bool, error) {
		v := dst.Version()
		if v.Equal(src.Version()) {
			return false, nil
		}
		cs, err := src.ChangesSinceErr(v, limit)
		if err != nil {
			return false, err
		}
		if len(cs) == 0 {
			return false, nil
		}
		if err := checkGaps(cs, v); err != nil {
			return false, err
		}
		if err := ix.verifyGaps(cs); err != nil {
			return false, err
		}
		if _, err := dst.Apply(cs...); err != nil {
			return false, err
		}
		if !dst.Version().Covers(OpID{Replica: 1, Seq: v[1] + 1}) {
			return false, fmt.Errorf("a piece of %d changes did not advance its reader from %d", len(cs), v[1])
		}
		return true, nil
	}
	for step := 0; ; step++ {
		if step > 4*n {
			t.Fatalf("seed %d: the relay did not finish", seed)
		}
		p2, err := pull(r2, a, 200+rng.IntN(4000))
		if err != nil {
			t.Fatalf("seed %d: step %d: a -> r2: %v", seed, step, err)
		}
		p3, err := pull(r3, r2, 100+rng.IntN(3000))
		if err != nil {
			t.Fatalf("seed %d: step %d: r2 -> r3: %v", seed, step, err)
		}
		if !p2 && !p3 {
			t.Logf("seed %d: %d steps", seed, step)
			break
		}
	}
	want := dump(a.Doc)
	for _, r := range []*replica{r2, r3} {
		if got := dump(r.Doc); got != want {
			t.Fatalf("seed %d: replica %s differs from the author:\n%s\n---\n%s", seed, r.Replica(), got, want)
		}
	}
}

// A recipe may reuse one path slice for all its calls, rewriting it in
// place between them, within an update and across updates: the changes
// are those of fresh paths (the draft keeps copies, and Update's patch
// paths, carved from room its next produce reuses, are consumed first).
func TestReviewReusedCallerPath(t *testing.T) {
	seed := propSeed()
	rng := rand.New(rand.NewPCG(seed, seed^0x9a7e))
	a, b, c := newReplica(t, 1, nil), newReplica(t, 1, nil), newReplica(t, 2, nil)
	buf := make(draft.Path, 3)
	reuse := func(segs ...draft.Segment) draft.Path { return append(buf[:0], segs...) }
	fresh := func(segs ...draft.Segment) draft.Path { return slices.Clone(segs) }
	for _, r := range []*replica{a, b} {
		c0 := r.update(t, func(d *draft.Draft) error {
			if err := d.Set(draft.Path{draft.Key("l")}, draft.EmptyList()); err != nil {
				return err
			}
			return d.Set(draft.Path{draft.Key("m")}, draft.EmptyMap())
		})
		if r == a {
			c.apply(t, c0)
		}
	}
	for step := range 300 {
		type call struct {
			kind int
			i, j int
			key  string
			v    int64
		}
		n, _ := a.State().Get("l")
		ln := n.Len()
		var calls []call
		for range 1 + rng.IntN(4) {
			k := call{kind: rng.IntN(4), i: rng.IntN(ln + 1), j: rng.IntN(ln + 1), key: subKeys[rng.IntN(4)], v: int64(step)}
			if k.kind == 0 {
				ln++
			}
			calls = append(calls, k)
		}
		recipe := func(path func(...draft.Segment) draft.Path) func(d *draft.Draft) error {
			return func(d *draft.Draft) error {
				for _, k := range calls {
					l, _ := d.Current().Get("l")
					var err error
					switch {
					case k.kind == 0:
						err = d.Insert(path(draft.Key("l"), draft.Index(min(k.i, l.Len()))), draft.Int(k.v))
					case k.kind == 1 && l.Len() > 0:
						err = d.Set(path(draft.Key("l"), draft.Index(k.i%l.Len())), draft.Int(-k.v))
					case k.kind == 2 && l.Len() > 1:
						err = d.Delete(path(draft.Key("l"), draft.Index(k.j%l.Len())))
					default:
						err = d.Set(path(draft.Key("m"), draft.Key(k.key)), draft.Int(k.v))
					}
					if err != nil {
						return err
					}
				}
				return nil
			}
		}
		ca := a.update(t, recipe(reuse))
		cb := b.update(t, recipe(fresh))
		if fmt.Sprint(ca) != fmt.Sprint(cb) {
			t.Fatalf("seed %d step %d: a reused path made\n%v\nfresh paths\n%v", seed, step, ca, cb)
		}
		if ca != nil {
			c.apply(t, ca)
		}
	}
	if sa, sb, sc := a.json(t), b.json(t), c.json(t); sa != sb || sa != sc {
		t.Fatalf("seed %d: states differ:\n%s\n%s\n%s", seed, sa, sb, sc)
	}
}

// A receiver that applied a gap and then lost the write that overwrote it
// would rely on another replica to send that write again; if its author
// were gone before anyone else got it, the receiver and a replica that got
// the elided write's original would disagree for good (without elision
// both would lack only the lost write, and agree). Rule 3 keeps the sender
// from sending a gap without the overwriter; the receiver keeps it by
// holding changes a gap relies on past a full pending buffer (Doc.owes).
// A restart that loses the buffer while a store kept the gap is still
// exposed (docs/crdt.md, "What is not done").
func TestReviewGapOutlivesLostOverwriter(t *testing.T) {
	a, b, w := newReplica(t, 1, nil), newReplica(t, 2, nil), newReplica(t, 4, nil)
	a1 := a.update(t, set("/x", draft.Int(1)))
	b1 := b.update(t, set("/x", draft.String("b")))
	a.apply(t, b1)
	a.update(t, set("/x", draft.Int(2))) // Pred a1 and b1: waits for b1 where b1 is missing
	w.apply(t, a1)                       // w holds the original of what a's replies elide
	c := newReplica(t, 3, nil)
	c.cfg.MaxPendingBytes = 1 // nothing fits: a write that must wait would be dropped
	reply := a.ChangesSince(nil, 0)
	if countGaps(reply) != 1 {
		t.Fatalf("reply %v, want a gap for a1", fmtChanges(reply))
	}
	if res, err := c.Apply(reply...); err != nil || res.Dropped != 0 {
		t.Fatalf("apply: %+v, %v; want the overwriter held past the full buffer", res, err)
	}
	// a is gone for good. b, c and w exchange everything they hold.
	for range 3 {
		for _, r := range []*replica{b, c, w} {
			for _, src := range []*replica{b, c, w} {
				cs, err := src.ChangesSinceErr(r.Version(), 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := r.Apply(cs...); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if !c.Version().Equal(w.Version()) {
		t.Fatalf("versions differ: %v, %v", c.Version(), w.Version())
	}
	if dc, dw := dump(c.Doc), dump(w.Doc); dc != dw {
		t.Fatalf("c (gap) and w (original) disagree for good:\n%s\n---\n%s", dc, dw)
	}
}

// Gaps of different spans for the same seqs (two senders elide different
// runs, a stale reader gets a longer one, a reader part way a trimmed
// one), originals, and duplicates of all of them wait together in the
// pending buffer behind the author's first change, in every order; once
// it arrives the receiver equals a replica that got only originals.
func TestReviewOverlappingGapsPending(t *testing.T) {
	seed := propSeed()
	rng := rand.New(rand.NewPCG(seed, seed^0x0e71a9))
	a, b := newReplica(t, 1, nil), newReplica(t, 2, nil)
	ix := opIndex{}
	var all []*Change
	for i := range 40 {
		var f func(d *draft.Draft) error
		switch rng.IntN(5) {
		case 0:
			f = set("/y"+strconv.Itoa(rng.IntN(2)), draft.Int(int64(i)))
		case 1:
			f = func(d *draft.Draft) error { // two registers in one change
				if err := d.Set(draft.Path{draft.Key("x")}, draft.Int(int64(i))); err != nil {
					return err
				}
				return d.Set(draft.Path{draft.Key("z")}, draft.Int(int64(i)))
			}
		default:
			f = set("/x", draft.Int(int64(i)))
		}
		c := a.update(t, f)
		ix.add(c)
		all = append(all, c)
	}
	// s2 has the author's changes up to some point by gaps and originals.
	s2 := newReplica(t, 3, nil)
	s2.apply(t, a.ChangesSince(nil, 0)...)
	cut := 10 + rng.IntN(20)
	a2 := newReplica(t, 5, nil) // a replica that got the originals up to cut
	a2.apply(t, all[:cut]...)
	var pool []*Change
	for _, src := range []*replica{a, s2, a2} {
		for _, from := range []uint64{0, 1, 3, uint64(cut / 2)} {
			cs, err := src.ChangesSinceErr(VersionVector{1: from}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := ix.verifyGaps(cs); err != nil {
				t.Fatal(err)
			}
			pool = append(pool, cs...)
		}
	}
	for _, c := range all[1:] {
		if rng.IntN(3) == 0 {
			pool = append(pool, c)
		}
	}
	spans := map[[2]uint64]bool{}
	for _, c := range pool {
		if c.Elided > 0 {
			spans[[2]uint64{c.StartSeq, c.EndSeq()}] = true
		}
	}
	if len(spans) < 3 {
		t.Fatalf("seed %d: %d distinct gap spans: the test exercises little", seed, len(spans))
	}
	b.apply(t, all...)
	want := dump(b.Doc)
	for perm := range 200 {
		p := slices.Clone(pool)
		rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
		p = slices.DeleteFunc(p, func(c *Change) bool { return c.StartSeq == 1 })
		p = append(p, p[:rng.IntN(len(p))]...) // duplicates
		r := newReplica(t, 4, nil)
		if _, err := r.Apply(p...); err != nil {
			t.Fatalf("seed %d perm %d: %v", seed, perm, err)
		}
		if _, err := r.Apply(all[0]); err != nil {
			t.Fatal(err)
		}
		if r.PendingLen() != 0 || r.pending.bytes != 0 || !r.Version().Equal(a.Version()) {
			t.Fatalf("seed %d perm %d: %d pending (%d bytes), version %v, want %v", seed, perm, r.PendingLen(), r.pending.bytes, r.Version(), a.Version())
		}
		if got := dump(r.Doc); got != want {
			t.Fatalf("seed %d perm %d: registers differ:\n%s\n---\n%s", seed, perm, got, want)
		}
		if msg := consistency(r.Doc); msg != "" {
			t.Fatalf("seed %d perm %d: %s", seed, perm, msg)
		}
	}
}

// A compaction frontier inside a received gap keeps the gap (its end is
// past the frontier), and a reader at the frontier gets it (trimmed on
// arrival); once the frontier passes the gap's end, a reader inside it
// is told the changes are compacted away, never served what follows it.
func TestReviewCompactInsideGap(t *testing.T) {
	a := newReplica(t, 1, nil)
	cs := a.writeInts(t, "/x", 6) // 1..5 overwritten by their author
	reply := a.ChangesSince(nil, 0)
	if len(reply) != 2 || reply[0].Elided != 5 {
		t.Fatalf("reply %v, want a gap of 5 and its overwriter", fmtChanges(reply))
	}
	r := newReplica(t, 3, nil)
	r.apply(t, reply...)
	r.Compact(VersionVector{1: 4})
	at4 := VersionVector{1: 4}
	got, err := r.ChangesSinceErr(at4, 0)
	if err != nil || r.CheckFloor(at4) != nil {
		t.Fatalf("a reader at the frontier: %v, %v", err, r.CheckFloor(at4))
	}
	if err := checkGaps(got, at4); err != nil {
		t.Fatal(err)
	}
	m := newReplica(t, 4, nil)
	m.apply(t, cs[:4]...)
	m.apply(t, got...)
	if dm, da := dump(m.Doc), dump(a.Doc); dm != da {
		t.Fatalf("reader at the frontier:\n%s\n---\n%s", dm, da)
	}
	r.Compact(VersionVector{1: 5})
	if _, err := r.ChangesSinceErr(at4, 0); !errors.Is(err, ErrCompacted) {
		t.Fatalf("a reader inside a compacted gap: %v, want ErrCompacted", err)
	}
	if err := r.CheckFloor(at4); !errors.Is(err, ErrCompacted) {
		t.Fatalf("CheckFloor inside a compacted gap: %v, want ErrCompacted", err)
	}
	if _, err := r.EncodedChangesSince(at4, 0); !errors.Is(err, ErrCompacted) {
		t.Fatalf("EncodedChangesSince inside a compacted gap: %v, want ErrCompacted", err)
	}
}

// The patches Produce hands its caller keep their paths while later
// updates (whose patch paths come from room each reuses) run.
func TestReviewProducePatchesOutliveUpdates(t *testing.T) {
	r := newReplica(t, 1, nil)
	r.update(t, set("/l", draft.EmptyList()))
	_, patches, err := r.Produce(func(d *draft.Draft) error {
		if err := d.Insert(draft.Path{draft.Key("l"), draft.Index(0)}, draft.Int(1)); err != nil {
			return err
		}
		return d.Set(draft.Path{draft.Key("m")}, draft.Int(2))
	})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint(patches)
	for i := range 50 {
		r.update(t, func(d *draft.Draft) error {
			return d.Insert(draft.Path{draft.Key("l"), draft.Index(i % 3)}, draft.Int(int64(i)))
		})
		r.update(t, set("/k"+strconv.Itoa(i%4), draft.Int(int64(i))))
	}
	if got := fmt.Sprint(patches); got != want {
		t.Fatalf("Produce's patches changed under later updates:\n%s\nwas\n%s", got, want)
	}
}

// A change a gap relies on is quarantined (its timestamp is too far
// ahead) even when the quarantine is full, so that the gap does not stay
// without it (see TestReviewGapOutlivesLostOverwriter).
func TestReviewOwedChangeQuarantinedPastBound(t *testing.T) {
	a, b := newReplica(t, 1, nil), newReplica(t, 2, nil)
	a1 := a.update(t, set("/x", draft.Int(1)))
	a.update(t, set("/x", draft.Int(2)))
	a.phys.Advance(2 * time.Hour) // past the receiver's MaxDrift (1h)
	a.update(t, set("/x", draft.Int(3)))
	b.phys.Advance(2 * time.Hour)
	far := b.update(t, set("/y", draft.Int(9)))
	reply := a.ChangesSince(VersionVector{1: 1}, 0)
	if len(reply) != 2 || !reply[0].IsGap() || reply[0].Until != 3 {
		t.Fatalf("reply %v, want a gap until 3 and its overwriter", fmtChanges(reply))
	}
	c := newReplica(t, 3, nil)
	c.cfg.MaxQuarantine = 1
	c.apply(t, a1)
	if res, err := c.Apply(far); err != nil || res.Quarantined != 1 {
		t.Fatalf("far change: %+v, %v; want it quarantined", res, err)
	}
	res, err := c.Apply(reply...)
	if err != nil || res.Dropped != 0 || c.QuarantinedLen() != 2 {
		t.Fatalf("reply: %+v, %v, %d quarantined; want the overwriter held past the full quarantine", res, err, c.QuarantinedLen())
	}
	// Another far change of b is not owed anything: the bound holds for it.
	b.update(t, set("/y", draft.Int(10)))
	if res, _ := c.Apply(b.ChangesSince(VersionVector{2: 1}, 0)...); res.Dropped != 1 {
		t.Fatalf("b's second far change: %+v, want it dropped (quarantine full)", res)
	}
	c.phys.Advance(2 * time.Hour)
	if _, err := c.RetryQuarantined(); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Version(), (VersionVector{1: 3, 2: 1}); !got.Equal(want) {
		t.Fatalf("version %v, want %v", got, want)
	}
	if got, want := c.json(t), `{"x":3,"y":9}`; got != want {
		t.Fatalf("state %s, want %s", got, want)
	}
}
