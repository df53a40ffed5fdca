package crdt

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/draft"
)

// withoutPred returns a copy of c whose ops list no predecessors.
func withoutPred(c *Change) *Change {
	x := *c
	x.Ops = slices.Clone(c.Ops)
	for i := range x.Ops {
		x.Ops[i].Pred = nil
	}
	return &x
}

// Rule 1, the implicit same-author rule: a write removes every older entry
// of its own author at its register even when its Pred does not name it.
// The author had seen them all, so with its real Pred the result is the
// same; a replica that never receives a superseded write (an elided gap)
// relies on it.
func TestRule1ImplicitSameAuthor(t *testing.T) {
	for _, reverse := range []bool{false, true} {
		a, b := newReplica(t, 1, nil), newReplica(t, 2, nil)
		a1 := a.update(t, set("/x", draft.Int(1)))
		a2 := a.update(t, set("/x", draft.Int(2)))
		a3 := a.update(t, set("/x", draft.Int(3)))
		b1 := b.update(t, set("/x", draft.String("b"))) // concurrent with all of a's
		var dumps []string
		for _, last := range []*Change{a3, withoutPred(a3)} {
			c := newReplica(t, 3, nil)
			batch := []*Change{a1, a2, last, b1}
			if reverse {
				slices.Reverse(batch) // a's later changes wait for the earlier
			}
			c.apply(t, batch...)
			if got := conflictValues(t, c, "/x"); !slices.Equal(got, []string{"3", "\"b\"*"}) && !slices.Equal(got, []string{"\"b\"", "3*"}) {
				t.Fatalf("reverse=%v: conflicts %v, want 3 and b only", reverse, got)
			}
			dumps = append(dumps, dump(c.Doc))
		}
		if dumps[0] != dumps[1] {
			t.Fatalf("reverse=%v: the implicit rule differs from the explicit Pred:\n%s\n---\n%s", reverse, dumps[0], dumps[1])
		}
		// The in-place overwrite (one Pred) must also drop an older entry
		// of the author that the register still holds.
		a.apply(t, b1)
		a5 := a.update(t, set("/x", draft.Int(5))) // saw a3 and b1
		only := withoutPred(a5)
		only.Ops[0].Pred = []OpID{b1.ID(0)}
		c := newReplica(t, 3, nil)
		batch := []*Change{a1, a2, a3, b1, only}
		if reverse {
			slices.Reverse(batch)
		}
		c.apply(t, batch...)
		wantJSON(t, c, `{"x":5}`)
		if got := c.Conflicts(draft.MustParsePointer("/x")); got != nil {
			t.Fatalf("reverse=%v: conflicts %v, want none", reverse, got)
		}
	}
}

// The log records, at apply time, which writes a later write of their
// own author at the same register overwrote, and by which seq.
func TestElidableRecorded(t *testing.T) {
	a, b := newReplica(t, 1, nil), newReplica(t, 2, nil)
	x1 := a.update(t, set("/x", draft.Int(1)))
	y1 := a.update(t, set("/y", draft.Int(1)))
	x2 := a.update(t, set("/x", draft.Int(2)))
	bx := b.update(t, set("/x", draft.Int(9)))
	a.apply(t, bx)
	x3 := a.update(t, set("/x", draft.Int(3))) // Pred [x2, bx]: not plain
	x4 := a.update(t, set("/x", draft.Int(4)))
	for _, d := range []*Doc{a.Doc, newReplica(t, 3, nil).Doc} {
		if d != a.Doc {
			if _, err := d.Apply(x1, y1, x2, bx, x3, x4); err != nil {
				t.Fatal(err)
			}
		}
		sup := &d.log.authorOf(1).sup
		for _, tc := range []struct {
			c     *Change
			ok    bool
			until uint64
		}{{x1, true, x2.StartSeq}, {y1, false, 0}, {x2, true, x3.StartSeq}, {x3, false, 0}, {x4, false, 0}} {
			until, ok, far := sup.until(tc.c.StartSeq)
			if ok != tc.ok || until != tc.until || far {
				t.Errorf("replica %s: seq %d: until %d ok %v far %v, want %d %v", d.Replica(), tc.c.StartSeq, until, ok, far, tc.until, tc.ok)
			}
		}
	}
}

// TestPropertyElision: 3 to 5 replicas make random edits, many of them
// overwrites of their own writes (at top-level keys, in a nested map and
// at list elements) and of each other's, and exchange by gossip of the
// original changes (a random subset, shuffled, with duplicates) and by
// anti-entropy (ChangesSince, or the encoded forms, against a possibly
// stale version, with random byte limits), so that some replicas get a
// write's original and others a gap for it, and replicas relay gaps they
// received. In the end, after rounds of anti-entropy and then the gossip
// of everything, every replica is byte-identical to a reference that got
// every original change (state, conflicts and snapshot bytes).
func TestPropertyElision(t *testing.T) {
	runGapHistories(t, propRuns(30), "CRDT_PROP_RUNS", runElisionHistory)
}

// runGapHistories runs history for runs seeds from propSeed on; a failure
// prints its seed and the command that reruns it alone (runsEnv sets the
// number of runs). It fails if no reply of any history held a gap.
func runGapHistories(t *testing.T, runs int, runsEnv string, history func(*testing.T, uint64) (int, string)) {
	base := propSeed()
	gaps := 0
	for run := range runs {
		seed := base + uint64(run)
		n, msg := history(t, seed)
		if msg != "" {
			t.Fatalf("seed %d: %s (rerun: CRDT_SEED=%d %s=1 go test -run '^%s$' -count=1 ./crdt/)", seed, msg, seed, runsEnv, t.Name())
		}
		gaps += n
	}
	if gaps == 0 {
		t.Fatal("no reply held a gap: the test exercised nothing")
	}
}

// overwriteRecipe writes a scalar at one of a few places a replica writes
// over and over.
func overwriteRecipe(rng *rand.Rand) func(d *draft.Draft) error {
	return func(d *draft.Draft) error {
		v := draft.Int(int64(rng.IntN(1000)))
		switch rng.IntN(4) {
		case 0:
			if cur, ok := d.Current().Get("o"); !ok || cur.Kind() != draft.MapKind {
				return d.Set(draft.Path{draft.Key("o")}, draft.MapOf(map[string]draft.Value{"x": v}))
			}
			return d.Set(draft.Path{draft.Key("o"), draft.Key(subKeys[rng.IntN(2)])}, v)
		case 1:
			if cur, ok := d.Current().Get("l"); ok && cur.Kind() == draft.ListKind && cur.Len() > 0 {
				return d.Set(draft.Path{draft.Key("l"), draft.Index(rng.IntN(cur.Len()))}, v)
			}
		}
		return d.Set(draft.Path{draft.Key(topKeys[rng.IntN(3)])}, v)
	}
}

func runElisionHistory(t *testing.T, seed uint64) (gaps int, msg string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0xe11de))
	st := propStrategies()
	reps := someReplicas(t, rng, st)
	nrep := len(reps)
	var all []*Change
	olds := map[clockReplica][]VersionVector{}
	limit := func() int {
		if rng.IntN(3) == 0 {
			return 0
		}
		return 1 + rng.IntN(600)
	}
	for step := range 80 + rng.IntN(80) {
		r := reps[rng.IntN(nrep)]
		switch k := rng.IntN(12); {
		case k < 6: // local update, mostly overwrites
			r.phys.Advance(time.Duration(rng.IntN(3)) * time.Millisecond)
			recipe := overwriteRecipe(rng)
			if k == 0 {
				recipe = randomRecipe(rng)
			}
			c, err := r.Update(recipe)
			if errors.Is(err, ErrPath) {
				continue
			}
			if err != nil {
				return gaps, "update: " + err.Error()
			}
			if c != nil {
				all = append(all, c)
			}
		case k < 8: // gossip of originals: a subset, shuffled, duplicates
			var batch []*Change
			for range rng.IntN(6) {
				if len(all) > 0 {
					batch = append(batch, all[rng.IntN(len(all))])
				}
			}
			if _, err := r.Apply(batch...); err != nil {
				return gaps, "gossip: " + err.Error()
			}
		default: // anti-entropy against a possibly stale vector
			src := reps[rng.IntN(nrep)]
			v := r.Version()
			if old := olds[r.Replica()]; len(old) > 0 && rng.IntN(3) == 0 {
				v = old[rng.IntN(len(old))]
			}
			n, err := exchange(rng, r, src, v, limit())
			if err != nil {
				return gaps, fmt.Sprintf("step %d: anti-entropy: %v", step, err)
			}
			gaps += n
			olds[r.Replica()] = append(olds[r.Replica()], r.Version())
		}
		if msg := consistency(r.Doc); msg != "" {
			return gaps, "replica " + r.Replica().String() + ": " + msg
		}
	}
	ref, n, msg := settleWithReference(t, rng, st, reps, all, 6*nrep, limit,
		func(r, src *replica, v VersionVector, maxBytes int) (int, error) {
			return exchange(rng, r, src, v, maxBytes)
		})
	gaps += n
	if msg != "" {
		return gaps, msg
	}
	want, wantSnap := dump(ref.Doc), EncodeSnapshot(ref.Snapshot())
	for pass := range 2 {
		for _, r := range reps {
			if got := dump(r.Doc); got != want {
				return gaps, fmt.Sprintf("pass %d: replica %s diverges from the reference:\n--- want\n%s\n--- got\n%s", pass, r.Replica(), want, got)
			}
			if !bytes.Equal(EncodeSnapshot(r.Snapshot()), wantSnap) {
				return gaps, fmt.Sprintf("pass %d: replica %s: snapshot bytes differ from the reference", pass, r.Replica())
			}
			if msg := consistency(r.Doc); msg != "" {
				return gaps, "final: " + msg
			}
			// Then the originals, late: all duplicates now.
			if _, err := r.Apply(all...); err != nil {
				return gaps, "late gossip: " + err.Error()
			}
		}
	}
	return gaps, ""
}

// exchange sends r what src has and v lacks (src's reply to a reader at
// v, byte limit maxBytes) by one of the reply forms, delivered whole,
// shuffled with duplicates, or one by one; it returns the gaps sent.
func exchange(rng *rand.Rand, r, src *replica, v VersionVector, maxBytes int) (int, error) {
	cs, buf, err := replyIn(rng, src, v, maxBytes, 2)
	if err == nil && buf != nil {
		if err := checkGaps(cs, v); err != nil {
			return 0, err
		}
		_, err = r.ApplyEncoded(buf)
		return countGaps(cs), err
	}
	if err != nil {
		return 0, err
	}
	n := countGaps(cs)
	if err := checkGaps(cs, v); err != nil {
		return 0, err
	}
	switch rng.IntN(3) {
	case 0:
		_, err = r.Apply(cs...)
	case 1:
		_, err = r.Apply(shuffledWithDuplicate(rng, cs)...)
	default:
		for _, c := range cs {
			if _, err = r.Apply(c); err != nil {
				break
			}
		}
	}
	return n, err
}

// checkGaps checks a reply's shape: per author, changes follow on from v
// without a hole, and every gap's Until is within the reply's reach.
func checkGaps(cs []*Change, v VersionVector) error {
	reach := v.Clone()
	for _, c := range cs {
		if c.StartSeq > reach[c.Replica]+1 {
			return fmt.Errorf("hole before %s", fmtChange(c))
		}
		reach[c.Replica] = max(reach[c.Replica], c.EndSeq())
	}
	for _, c := range cs {
		if c.Elided > 0 && c.Until > reach[c.Replica] {
			return fmt.Errorf("gap %s sent without its overwriting ops (reply reaches %d)", fmtChange(c), reach[c.Replica])
		}
	}
	return nil
}

func countGaps(cs []*Change) int {
	n := 0
	for _, c := range cs {
		if c.Elided > 0 {
			n++
		}
	}
	return n
}

// splitReply decodes a reply of messages back to back, checking that each
// message's header (ReadChangeInfo) agrees with its change.
func splitReply(buf []byte) ([]*Change, error) {
	var cs []*Change
	for r := (mpReader{b: buf}); r.left() > 0; {
		start := r.off
		_, ops := readChangeHeader(&r)
		for range ops {
			r.skip(maxWireDepth)
		}
		if r.err != nil {
			return nil, r.err
		}
		msg := buf[start:r.off]
		c, err := DecodeChange(msg)
		if err != nil {
			return nil, err
		}
		ci, err := ReadChangeInfo(msg)
		if err != nil || ci.StartSeq != c.StartSeq || ci.EndSeq != c.EndSeq() || ci.Elided != c.Elided || ci.Until != c.Until {
			return nil, fmt.Errorf("ReadChangeInfo %+v (%v) disagrees with %s", ci, err, fmtChange(c))
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// A reply cut by its byte limit before the write that overwrote an
// elidable change sends that change whole, never as a gap.
func TestGapNotSentWithoutOverwriter(t *testing.T) {
	a := newReplica(t, 1, nil)
	x1 := a.update(t, set("/x", draft.Int(1)))
	y1 := a.update(t, set("/y", draft.Int(1)))
	x2 := a.update(t, set("/x", draft.Int(2))) // overwrites x1
	// Unlimited: x1 is a gap, sent with x2.
	all := a.ChangesSince(nil, 0)
	if got := fmtChanges(all); len(all) != 3 || all[0].Elided != 1 || all[0].Until != x2.StartSeq {
		t.Fatalf("unlimited reply %v", got)
	}
	// Cut after y1: x1 goes whole.
	two := len(EncodeChange(x1)) + len(EncodeChange(y1))
	for _, get := range []func() []*Change{
		func() []*Change { return a.ChangesSince(nil, two) },
		func() []*Change {
			enc, err := a.EncodedChangesSince(nil, two)
			if err != nil {
				t.Fatal(err)
			}
			cs, err := decodeEncoded(enc)
			if err != nil {
				t.Fatal(err)
			}
			return cs
		},
		func() []*Change {
			buf, err := a.AppendEncodedSince(nil, nil, two)
			if err != nil {
				t.Fatal(err)
			}
			cs, err := splitReply(buf)
			if err != nil {
				t.Fatal(err)
			}
			return cs
		},
	} {
		// (ChangesSince's limit counts estimated memory: it may cut after
		// x1.)
		cs := get()
		if got, want := fmtChanges(cs), fmtChanges([]*Change{x1, y1}); len(cs) == 0 || !slices.Equal(got, want[:len(got)]) {
			t.Fatalf("cut reply %v, want %v", got, want)
		}
	}
	// A replica that received the gap (with x2) relays it only with x2.
	b := newReplica(t, 2, nil)
	b.apply(t, all...)
	// Even past a byte limit that fits nothing: a reply holds at least
	// the gap and what reaches its Until.
	if cs := b.ChangesSince(nil, 1); len(cs) != 3 || cs[0].Elided != 1 {
		t.Fatalf("relay with a limit: %v", fmtChanges(cs))
	}
	if cs := b.ChangesSince(nil, 0); len(cs) != 3 || cs[0].Elided != 1 {
		t.Fatalf("relay: %v", fmtChanges(cs))
	}
}

// ApplyEncoded and Apply agree on replies holding gaps, delivered in
// order, reversed (gaps and changes waiting in the pending buffer) and
// twice, and their logs then serve the same replies.
func TestApplyEncodedGaps(t *testing.T) {
	a := newReplica(t, 1, nil)
	for i := range 30 {
		a.update(t, set(fmt.Sprintf("/k%d", i%4), draft.Int(int64(i))))
		if i%7 == 0 {
			a.update(t, set("/l", draft.ListOf(draft.Int(int64(i)))))
		}
	}
	cs := a.ChangesSince(VersionVector{1: 3}, 0)
	if countGaps(cs) == 0 {
		t.Fatal("no gap in the reply")
	}
	pre := a.ChangesSince(nil, 0)
	for _, order := range []string{"forward", "reversed", "twice"} {
		batch := slices.Clone(cs)
		switch order {
		case "reversed":
			slices.Reverse(batch)
		case "twice":
			batch = append(batch, cs...)
		}
		var buf []byte
		for _, c := range batch {
			buf = append(buf, EncodeChange(c)...)
		}
		x, y, z := newReplica(t, 2, nil), newReplica(t, 3, nil), newReplica(t, 4, nil)
		for _, d := range []*replica{x, y, z} {
			d.apply(t, pre[:2]...) // the reader is at {1: 3}
			if d.VersionOf(1) != 3 {
				t.Fatalf("reader at %d", d.VersionOf(1))
			}
		}
		x.apply(t, batch...)
		if _, err := y.ApplyEncoded(buf); err != nil {
			t.Fatal(err)
		}
		if _, err := z.ApplyEncoded(EncodeChanges(batch)); err != nil {
			t.Fatal(err)
		}
		for _, d := range []*replica{y, z} {
			if dx, dy := dump(x.Doc), dump(d.Doc); dx != dy {
				t.Fatalf("%s: states differ:\n%s\n---\n%s", order, dx, dy)
			}
			if !x.vv.Equal(d.vv) || !x.vv.Equal(a.vv) || d.PendingLen() != 0 {
				t.Fatalf("%s: versions %v %v, source %v", order, x.vv, d.vv, a.vv)
			}
			checkLogsAgree(t, x.Doc, d.Doc)
		}
		if dump(x.Doc) != dump(a.Doc) {
			t.Fatalf("%s: the reader differs from the source", order)
		}
	}
}

// A gap covering a change waiting in the pending buffer makes it a
// duplicate; a gap reaching below the version is logged from above it.
func TestGapPendingAndOverlap(t *testing.T) {
	a := newReplica(t, 1, nil)
	var cs []*Change
	for i := range 6 {
		cs = append(cs, a.update(t, set("/x", draft.Int(int64(i)))))
	}
	reply := a.ChangesSince(nil, 0) // a gap for 1..5, then 6
	if len(reply) != 2 || reply[0].Elided != 5 {
		t.Fatalf("reply %v", fmtChanges(reply))
	}
	b := newReplica(t, 2, nil)
	b.apply(t, cs[0], cs[1]) // b has 1..2
	b.apply(t, cs[3])        // 4 waits
	b.apply(t, reply...)     // the gap covers 3..5 (and 4), then 6
	if b.PendingLen() != 0 || b.VersionOf(1) != 6 || dump(b.Doc) != dump(a.Doc) {
		t.Fatalf("pending %d version %d\n%s\n---\n%s", b.PendingLen(), b.VersionOf(1), dump(b.Doc), dump(a.Doc))
	}
	logged := b.ChangesSince(nil, 0)
	if got := fmtChanges(logged); len(logged) != 2 || logged[0].StartSeq != 1 || logged[0].EndSeq() != 5 {
		t.Fatalf("b serves %v", got)
	}
	b.log.whole = true
	got := fmtChanges(b.ChangesSince(nil, 0))
	if len(got) != 4 || got[2] != fmtChange(&Change{Replica: 1, StartSeq: 3, Timestamp: reply[0].Timestamp, Elided: 3, Until: 6}) {
		t.Fatalf("b's log %v", got)
	}
}

// someReplicas returns 3 to 5 new replicas with strategies st.
func someReplicas(t *testing.T, rng *rand.Rand, st *Strategies) []*replica {
	reps := make([]*replica, 3+rng.IntN(3))
	for i := range reps {
		reps[i] = newReplica(t, clockID(i), st)
	}
	return reps
}

// LoggedSince returns the log as kept: elidable changes whole, gaps
// received as gaps.
func TestLoggedSince(t *testing.T) {
	a := newReplica(t, 1, nil)
	cs := a.writeInts(t, "/x", 4)
	if got, want := fmtChanges(a.LoggedSince(nil)), fmtChanges(cs); !slices.Equal(got, want) {
		t.Fatalf("LoggedSince %v, want %v", got, want)
	}
	reply := a.ChangesSince(VersionVector{1: 1}, 0) // a gap for 2..3, then 4
	b := newReplica(t, 2, nil)
	b.apply(t, cs[0])
	b.apply(t, reply...)
	if got, want := fmtChanges(b.LoggedSince(VersionVector{1: 1})), fmtChanges(reply); len(reply) != 2 || !slices.Equal(got, want) {
		t.Fatalf("LoggedSince after a gap %v, want %v", got, want)
	}
}

// EncodedChangesBetween caps each replica's part: nothing past the cap,
// and a write overwritten past the cap goes whole.
func TestEncodedChangesBetween(t *testing.T) {
	a := newReplica(t, 1, nil)
	cs := a.writeInts(t, "/x", 5) // 1..4 elidable, overwritten by the next
	b := newReplica(t, 2, nil)
	bc := b.writeInts(t, "/y", 3)
	a.apply(t, bc...)
	for _, limit := range []int{0, 1, 90, 1 << 20} {
		got, err := a.EncodedChangesBetween(nil, VersionVector{1: 3}, limit)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := decodeEncoded(got)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkGaps(dec, VersionVector{}); err != nil {
			t.Fatalf("limit %d: %v", limit, err)
		}
		reach := VersionVector{}
		for _, c := range dec {
			reach[c.Replica] = max(reach[c.Replica], c.EndSeq())
		}
		if reach[1] > 3 {
			t.Fatalf("limit %d: replica 1 served to %d past the cap", limit, reach[1])
		}
		if limit == 0 || limit == 1<<20 {
			// 1..2 as a gap (overwritten by 2..3, within the cap), 3 whole
			// (overwritten by 4, past it); replica 2 uncapped.
			want := []string{
				fmtChange(&Change{Replica: 1, StartSeq: 1, Timestamp: cs[1].Timestamp, Elided: 2, Until: 3}),
				fmtChange(cs[2]),
			}
			if got := fmtChanges(dec); len(got) < 2 || !slices.Equal(got[:2], want) || reach[2] != 3 {
				t.Fatalf("limit %d: %v", limit, got)
			}
		}
	}
}

// decodeEncoded decodes each encoded change of a reply.
func decodeEncoded(enc []EncodedChange) ([]*Change, error) {
	var cs []*Change
	for _, e := range enc {
		c, err := DecodeChange(e.Data)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// settleWithReference gives a fresh reference replica every original change (all,
// shuffled) and runs anti-entropy among reps with exchange (byte limits
// from limit for the first 3*len(reps) rounds, none after) until every
// replica has the reference's version and nothing pending, for at most
// rounds rounds. It returns the reference, the gaps the exchanges sent and
// a failure message ("" if none).
func settleWithReference(t *testing.T, rng *rand.Rand, st *Strategies, reps []*replica, all []*Change, rounds int, limit func() int,
	exchange func(r, src *replica, v VersionVector, maxBytes int) (int, error)) (*replica, int, string) {
	ref := newReplica(t, 50, st) // every original change, nothing else
	cs := slices.Clone(all)
	rng.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
	if _, err := ref.Apply(cs...); err != nil {
		return ref, 0, "reference: " + err.Error()
	}
	gaps := 0
	for round := 0; ; round++ {
		if round > rounds {
			return ref, gaps, "anti-entropy did not converge"
		}
		for _, r := range reps {
			for _, src := range reps {
				l := limit()
				if round >= 3*len(reps) {
					l = 0
				}
				n, err := exchange(r, src, r.Version(), l)
				if err != nil {
					return ref, gaps, "final anti-entropy: " + err.Error()
				}
				gaps += n
			}
		}
		done := true
		for _, r := range reps {
			done = done && r.vv.Equal(ref.vv) && r.PendingLen() == 0
		}
		if done {
			return ref, gaps, ""
		}
	}
}

// replyIn is src's anti-entropy reply to v (byte limit maxBytes) in one
// of its forms, picked by rng: ChangesSinceErr; EncodedChangesSince, or
// one time in durableOdds EncodedChangesBetween capping src's own changes
// at a random seq (a replica serving its own changes once durable), both
// decoded; or AppendEncodedSince, whose bytes are returned in buf (nil for
// the other forms) beside their decoding.
func replyIn(rng *rand.Rand, src *replica, v VersionVector, maxBytes, durableOdds int) (cs []*Change, buf []byte, err error) {
	switch rng.IntN(3) {
	case 0:
		cs, err = src.ChangesSinceErr(v, maxBytes)
	case 1:
		var enc []EncodedChange
		if own := src.VersionOf(src.Replica()); own > 0 && rng.IntN(durableOdds) == 0 {
			enc, err = src.EncodedChangesBetween(v, VersionVector{src.Replica(): uint64(rng.IntN(int(own) + 1))}, maxBytes)
		} else {
			enc, err = src.EncodedChangesSince(v, maxBytes)
		}
		if err == nil {
			cs, err = decodeEncoded(enc)
		}
	default:
		if buf, err = src.AppendEncodedSince(nil, v, maxBytes); err == nil {
			cs, err = splitReply(buf)
		}
	}
	return cs, buf, err
}

// shuffledWithDuplicate returns cs shuffled, with one of them twice.
func shuffledWithDuplicate(rng *rand.Rand, cs []*Change) []*Change {
	p := slices.Clone(cs)
	if len(p) > 0 {
		p = append(p, p[rng.IntN(len(p))])
	}
	rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}
