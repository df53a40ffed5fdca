package crdt

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
)

// encodeRandomly encodes order as ApplyEncoded's arguments, grouped at
// random: single messages, batches, and single messages back to back.
func encodeRandomly(rng *rand.Rand, order []*Change) [][]byte {
	var out [][]byte
	for len(order) > 0 {
		k := 1 + rng.IntN(min(len(order), 4))
		g := order[:k]
		order = order[k:]
		switch rng.IntN(3) {
		case 0:
			for _, c := range g {
				out = append(out, EncodeChange(c))
			}
		case 1:
			out = append(out, EncodeChanges(g))
		default:
			var b []byte
			for _, c := range g {
				b = append(b, EncodeChange(c)...)
			}
			out = append(out, b)
		}
	}
	return out
}

// ApplyEncoded is Apply: in random orders with duplicates and premature
// changes (held, then drained), given in random groupings, the replica
// ends as one that applied the decoded changes, with the same log.
func TestApplyEncodedMatchesApply(t *testing.T) {
	seed, rng := lawSeed(t)
	for run := range propRuns(30) {
		_, all := lawHistory(t, rng, 3)
		order := append([]*Change(nil), all...)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for range rng.IntN(4) {
			order = append(order, all[rng.IntN(len(all))])
		}
		x := newReplica(t, 50, propStrategies())
		y := newReplica(t, 50, propStrategies())
		z := newReplica(t, 50, propStrategies()) // ApplyEncodedOwned
		var rx, ry Result
		// Apply and ApplyEncoded in the same steps, so the results compare.
		msgs := encodeRandomly(rng, order)
		for len(msgs) > 0 {
			k := 1 + rng.IntN(len(msgs))
			var cs []*Change
			for _, m := range msgs[:k] {
				got, err := DecodeChanges(m)
				if err != nil {
					for len(m) > 0 { // single messages back to back
						c, n := decodeFirst(t, m)
						got, m = append(got, c), m[n:]
					}
				}
				cs = append(cs, got...)
			}
			a, err := x.Apply(cs...)
			if err != nil {
				t.Fatalf("seed %d run %d: Apply: %v", seed, run, err)
			}
			b, err := y.ApplyEncoded(msgs[:k]...)
			if err != nil {
				t.Fatalf("seed %d run %d: ApplyEncoded: %v", seed, run, err)
			}
			owned := make([][]byte, k)
			for i, m := range msgs[:k] {
				owned[i] = roomy(m)
			}
			if c, err := z.ApplyEncodedOwned(owned...); err != nil || fmt.Sprint(c) != fmt.Sprint(b) {
				t.Fatalf("seed %d run %d: ApplyEncodedOwned: %+v, %v; ApplyEncoded %+v", seed, run, c, err, b)
			}
			rx.Applied, rx.Duplicates, rx.Pending = rx.Applied+a.Applied, rx.Duplicates+a.Duplicates, rx.Pending+a.Pending
			ry.Applied, ry.Duplicates, ry.Pending = ry.Applied+b.Applied, ry.Duplicates+b.Duplicates, ry.Pending+b.Pending
			if fmt.Sprint(a.Patches) != fmt.Sprint(b.Patches) {
				t.Fatalf("seed %d run %d: patches differ:\n%v\n%v", seed, run, a.Patches, b.Patches)
			}
			msgs = msgs[k:]
		}
		if rx.Applied != ry.Applied || rx.Duplicates != ry.Duplicates || rx.Pending != ry.Pending {
			t.Fatalf("seed %d run %d: results differ: %+v %+v", seed, run, rx, ry)
		}
		if dx, dy := dump(x.Doc), dump(y.Doc); dx != dy {
			t.Fatalf("seed %d run %d: states differ:\n%s\n---\n%s", seed, run, dx, dy)
		}
		if !x.State().Equal(y.State()) || !x.Version().Equal(y.Version()) || x.Stats() != y.Stats() {
			t.Fatalf("seed %d run %d: state, version or stats differ", seed, run)
		}
		checkLogsAgree(t, x.Doc, y.Doc)
		if dy, dz := dump(y.Doc), dump(z.Doc); dy != dz || y.Stats() != z.Stats() {
			t.Fatalf("seed %d run %d: owned states differ:\n%s\n---\n%s", seed, run, dy, dz)
		}
		checkLogsAgree(t, x.Doc, z.Doc)
	}
}

// roomy returns a copy of m with adoptMin bytes of capacity beyond it, so
// that ApplyEncodedOwned keeps even a small message where it lies.
func roomy(m []byte) []byte { return append(make([]byte, 0, len(m)+adoptMin), m...) }

// ApplyEncodedOwned keeps messages that follow each other in a buffer
// where they lie, and serves them from there; a message logged after them
// by copy does not touch the buffer; a buffer of one small message is
// copied.
func TestApplyEncodedOwnedKeepsBuffer(t *testing.T) {
	// kept: messages in the handed-over buffer (over adoptMin bytes; 4,000
	// are over maxOffset bytes, so that the buffer is kept as two chunks).
	for _, kept := range []int{100, 4000} {
		t.Run(fmt.Sprint(kept), func(t *testing.T) { testOwnedKeepsBuffer(t, kept) })
	}
}

func testOwnedKeepsBuffer(t *testing.T, kept int) {
	src := newReplica(t, 2, nil)
	var buf []byte
	var cs []*Change
	for i := range kept + 3 {
		c := src.update(t, set("/k", draft.Int(int64(i))))
		cs = append(cs, c)
		if i < kept {
			buf = append(buf, EncodeChange(c)...)
		}
	}
	if len(buf) < adoptMin || (kept > 100 && len(buf) < 2*maxOffset) {
		t.Fatalf("buffer of %d bytes", len(buf))
	}
	keep := slices.Clone(buf)
	d := newReplica(t, 1, nil)
	d.log.whole = true // the log's bytes are compared, not gaps
	if _, err := d.ApplyEncodedOwned(buf); err != nil {
		t.Fatal(err)
	}
	one := EncodeChange(cs[kept])
	if _, err := d.ApplyEncodedOwned(one); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ApplyEncoded(EncodeChange(cs[kept+1])); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Apply(cs[kept+2]); err != nil {
		t.Fatal(err)
	}
	if m := d.EncodedChange(cs[kept]); &m[0] == &one[0] {
		t.Fatal("a buffer of one small message is kept")
	}
	if !bytes.Equal(buf, keep) {
		t.Fatal("the handed-over buffer was written")
	}
	off := 0
	for i, c := range cs {
		m := d.EncodedChange(c)
		if !bytes.Equal(m, EncodeChange(c)) {
			t.Fatalf("change %d served as %x", i, m)
		}
		if i < kept && &m[0] != &buf[off] {
			t.Fatalf("change %d is not served from the buffer", i)
		}
		off += len(m)
	}
	got, err := d.AppendEncodedSince(nil, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, c := range cs {
		want = append(want, EncodeChange(c)...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendEncodedSince:\n%x\n%x", got, want)
	}
}

// decodeFirst decodes the first of several single-change messages back to
// back and returns its length.
func decodeFirst(t *testing.T, b []byte) (*Change, int) {
	t.Helper()
	for n := 1; n <= len(b); n++ {
		if c, err := DecodeChange(b[:n]); err == nil {
			return c, n
		}
	}
	t.Fatal("no message decodes")
	return nil, 0
}

// checkLogsAgree checks that x and y serve the same changes, as values and
// as messages, to readers at every version of their logs, bounded or not.
func checkLogsAgree(t *testing.T, x, y *Doc) {
	t.Helper()
	for _, vv := range []VersionVector{nil, {clockID(0): 2}, {clockID(1): 1, clockID(2): 3}, x.Version()} {
		for _, limit := range []int{0, 1, 200} {
			cx, cy := x.ChangesSince(vv, limit), y.ChangesSince(vv, limit)
			if limit == 0 && !reflect.DeepEqual(fmtChanges(cx), fmtChanges(cy)) {
				t.Fatalf("ChangesSince(%v) differs:\n%v\n%v", vv, fmtChanges(cx), fmtChanges(cy))
			}
			ey, err := y.EncodedChangesSince(vv, limit)
			if err != nil {
				t.Fatal(err)
			}
			if limit == 0 && len(ey) != len(cy) {
				t.Fatalf("EncodedChangesSince(%v): %d changes, ChangesSince %d", vv, len(ey), len(cy))
			}
			buf, err := y.AppendEncodedSince(nil, vv, limit)
			if err != nil {
				t.Fatal(err)
			}
			var cat []byte
			for i, e := range ey {
				cat = append(cat, e.Data...)
				if limit != 0 {
					continue // the limits count sizes differently
				}
				c := cy[i]
				if !bytes.Equal(e.Data, EncodeChange(c)) || e.Replica != c.Replica || e.StartSeq != c.StartSeq || e.EndSeq != c.EndSeq() {
					t.Fatalf("EncodedChangesSince(%v)[%d] is not change %s", vv, i, fmtChange(c))
				}
			}
			if !bytes.Equal(buf, cat) {
				t.Fatalf("AppendEncodedSince(%v, %d) differs from EncodedChangesSince:\n%x\n%x", vv, limit, buf, cat)
			}
		}
	}
	nx, _ := x.LogSize()
	ny, _ := y.LogSize()
	if nx != ny {
		t.Fatalf("log sizes %d and %d", nx, ny)
	}
}

// A change decoded into ApplyEncoded's reused room that must wait
// (quarantined, pending) gets memory of its own: later calls reuse the
// room without changing it.
func TestApplyEncodedHeldChangesOwnTheirMemory(t *testing.T) {
	const t0 = 1_700_000_000_000
	a, physA := newDriftBoundReplica(t, t0)
	b := newReplica(t, 2, nil)
	b.phys.Set(t0 + 10_000) // 10 s ahead: quarantined at a
	ahead := b.update(t, set("/x", draft.Int(1)))
	c := newReplica(t, 3, nil)
	c1 := c.update(t, set("/y", draft.String("one")))
	c2 := c.update(t, set("/y", draft.String("two"))) // pending without c1
	res, err := a.ApplyEncoded(EncodeChange(ahead), EncodeChange(c2))
	if err != nil || res.Quarantined != 1 || res.Pending != 1 {
		t.Fatalf("res %+v err %v", res, err)
	}
	// More changes through the same room.
	other := newReplica(t, 4, nil)
	var batch []*Change
	for i := range 5 {
		batch = append(batch, other.update(t, set("/z", draft.Int(int64(i)))))
	}
	if _, err := a.ApplyEncoded(EncodeChanges(batch)); err != nil {
		t.Fatal(err)
	}
	if q := a.Quarantined(); len(q) != 1 || fmtChange(q[0]) != fmtChange(ahead) {
		t.Fatalf("quarantined %v, want %s", fmtChanges(q), fmtChange(ahead))
	}
	if res, err := a.ApplyEncoded(EncodeChange(c1)); err != nil || res.Applied != 2 {
		t.Fatalf("drain: %+v %v", res, err)
	}
	physA.Set(t0 + 9_600)
	if res, err := a.RetryQuarantined(); err != nil || res.Applied != 1 {
		t.Fatalf("retry: %+v %v", res, err)
	}
	if got := mustJSON(t, a.State()); got != `{"x":1,"y":"two","z":4}` {
		t.Fatal(got)
	}
}

// Malformed input is rejected and counted; the changes before it in its
// element and the other elements are applied.
func TestApplyEncodedRejects(t *testing.T) {
	src := newReplica(t, 2, nil)
	c1 := EncodeChange(src.update(t, set("/a", draft.Int(1))))
	c2 := EncodeChange(src.update(t, set("/b", draft.Int(2))))
	bad := append(append([]byte{}, c1...), 0x94, 9) // a second message, truncated
	d := newReplica(t, 1, nil)
	res, err := d.ApplyEncoded(bad, []byte{0xc1}, c2)
	if !errors.Is(err, ErrMalformed) || res.Applied != 2 || res.Rejected != 2 {
		t.Fatalf("res %+v err %v", res, err)
	}
	if _, err := d.ApplyEncoded(EncodeChange(&Change{Replica: 3, StartSeq: 1})); !errors.Is(err, ErrMalformed) {
		t.Fatalf("empty change: %v", err)
	}
	if got := mustJSON(t, d.State()); got != `{"a":1,"b":2}` {
		t.Fatal(got)
	}
}

// An author's log keeps one form: changes arriving in the other are
// converted, and every reader gets the same changes.
func TestOpLogMixedForms(t *testing.T) {
	src := newReplica(t, 2, nil)
	cs := src.writeInts(t, "/k", 6)
	for _, first := range []string{"pointer", "encoded"} {
		d := newReplica(t, 1, nil)
		d.log.whole, src.log.whole = true, true // the log's forms are compared, not gaps
		for i, c := range cs {
			var err error
			if (i%2 == 0) == (first == "pointer") {
				_, err = d.Apply(c)
			} else {
				_, err = d.ApplyEncoded(EncodeChange(c))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if got, want := fmtChanges(d.ChangesSince(nil, 0)), fmtChanges(cs); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s first: log %v, want %v", first, got, want)
		}
		checkLogsAgree(t, src.Doc, d.Doc)
		st := d.Compact(VersionVector{2: 3})
		if st.DroppedChanges != 3 || st.LogChanges != 3 {
			t.Fatalf("%s first: compact %+v", first, st)
		}
		if _, err := d.EncodedChangesSince(VersionVector{2: 1}, 0); !errors.Is(err, ErrCompacted) {
			t.Fatalf("%s first: below the floor: %v", first, err)
		}
		if got, want := fmtChanges(d.ChangesSince(VersionVector{2: 3}, 0)), fmtChanges(cs[3:]); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s first: after compaction %v, want %v", first, got, want)
		}
	}
}

func TestReadChangeInfo(t *testing.T) {
	for _, c := range sampleChanges() {
		b := EncodeChange(c)
		ci, err := ReadChangeInfo(b)
		if err != nil {
			t.Fatal(err)
		}
		if ci.Replica != c.Replica || ci.StartSeq != c.StartSeq || ci.EndSeq != c.EndSeq() || ci.Timestamp != c.Timestamp {
			t.Fatalf("%+v for %s", ci, fmtChange(c))
		}
		for i := range b {
			if _, err := ReadChangeInfo(b[:i]); err == nil {
				t.Fatalf("truncated at %d accepted", i)
			}
		}
		if _, err := ReadChangeInfo(append(b[:len(b):len(b)], b...)); err == nil {
			t.Fatal("two messages accepted")
		}
	}
	if _, err := ReadChangeInfo(EncodeChanges(sampleChanges())); !errors.Is(err, ErrVersion) {
		t.Fatalf("batch: %v", err)
	}
}

func FuzzApplyEncoded(f *testing.F) {
	for _, c := range sampleChanges() {
		f.Add(EncodeChange(c))
	}
	f.Add(EncodeChanges(sampleChanges()))
	f.Add(append(EncodeChange(sampleChanges()[0]), EncodeChange(sampleChanges()[1])...))
	gs := sampleGaps()
	f.Add(EncodeChanges(gs))
	f.Add(append(append(EncodeChange(gs[0]), EncodeChange(gs[1])...), EncodeChange(gs[3])...))
	f.Fuzz(func(t *testing.T, b []byte) {
		ci, ierr := ReadChangeInfo(b)
		one, oerr := DecodeChange(b)
		if oerr == nil && (ierr != nil || ci.Replica != one.Replica || ci.StartSeq != one.StartSeq || ci.EndSeq != one.EndSeq() || ci.Timestamp != one.Timestamp || ci.Elided != one.Elided || ci.Until != one.Until) {
			t.Fatalf("ReadChangeInfo %+v (%v) disagrees with DecodeChange %s", ci, ierr, fmtChange(one))
		}
		y := newReplica(t, 99, nil)
		res, err := y.ApplyEncoded(b)
		if err == nil && res.Rejected != 0 {
			t.Fatalf("no error with %d rejected", res.Rejected)
		}
		cs, derr := DecodeChanges(b)
		if derr != nil {
			return
		}
		// Decodable input: the same as applying the decoded changes.
		x := newReplica(t, 99, nil)
		_, _ = x.Apply(cs...)
		if dx, dy := dump(x.Doc), dump(y.Doc); dx != dy {
			t.Fatalf("states differ:\n%s\n---\n%s", dx, dy)
		}
		checkLogsAgree(t, x.Doc, y.Doc)
		z := newReplica(t, 99, nil)
		_, _ = z.ApplyEncodedOwned(roomy(b))
		if dy, dz := dump(y.Doc), dump(z.Doc); dy != dz {
			t.Fatalf("owned states differ:\n%s\n---\n%s", dy, dz)
		}
		checkLogsAgree(t, x.Doc, z.Doc)
	})
}

// EncodedChange serves the log's copy of a change applied from its bytes,
// and encodes any other.
func TestEncodedChange(t *testing.T) {
	src := newReplica(t, 2, nil)
	cs := src.writeInts(t, "/k", 5)
	d := newReplica(t, 1, nil)
	if _, err := d.ApplyEncoded(EncodeChanges(cs[:3])); err != nil {
		t.Fatal(err)
	}
	for _, doc := range []*Doc{src.Doc, d.Doc} {
		for _, c := range cs {
			if got := doc.EncodedChange(c); !bytes.Equal(got, EncodeChange(c)) {
				t.Fatalf("EncodedChange(%s) = %x", fmtChange(c), got)
			}
		}
	}
	if a, b := d.EncodedChange(cs[2]), d.EncodedChange(cs[2]); &a[0] != &b[0] {
		t.Fatal("the log's copy is not served")
	}
}

// The encoder's path for changes that name only their author writes the
// bytes the general one does.
func TestSelfMessageMatchesTable(t *testing.T) {
	seed, rng := lawSeed(t)
	self := 0
	cs := sampleChanges()
	for range propRuns(20) {
		_, all := lawHistory(t, rng, 3)
		cs = append(cs, all...)
	}
	for _, c := range cs {
		var tab wireTable
		want := tab.appendTableMessage(nil, c)
		if !selfOnly(c) {
			continue
		}
		self++
		if got := appendSelfMessage(nil, c); !bytes.Equal(got, want) {
			t.Fatalf("seed %d: %s:\n got %x\nwant %x", seed, fmtChange(c), got, want)
		}
	}
	if self == 0 {
		t.Fatal("no change took the author-only path")
	}
	t.Logf("%d of %d changes name only their author", self, len(cs))
}

// An encoded log's floor, kept as changes come, is the one a walk back
// over the changes finds, through gaps and compaction; and its messages,
// one by one and back to back, are the ones pushed.
func TestEncRunFloorOracle(t *testing.T) {
	seed, rng := lawSeed(t)
	ts := clock.Timestamp{Wall: 1_764_000_000_000, Replica: 3}
	for run := range propRuns(50) {
		var e encRun
		var spans [][2]uint64 // the changes left, oldest first
		var msgs [][]byte     // and their messages
		next := uint64(1)
		for step := range 40 {
			if rng.IntN(5) == 0 && len(spans) > 0 {
				k := rng.IntN(len(spans) + 1)
				e.dropFront(k)
				spans, msgs = spans[k:], msgs[k:]
			} else {
				if rng.IntN(5) == 0 {
					next += uint64(1 + rng.IntN(3)) // a gap (an author's changes never overlap)
				}
				c := &Change{Replica: 3, StartSeq: next, Timestamp: ts, Ops: make([]Op, 1+rng.IntN(3))}
				for i := range c.Ops {
					c.Ops[i] = Op{Kind: OpDelete, Key: KeySeg(strings.Repeat("k", 1+rng.IntN(40)))}
				}
				var l memLog
				e.push(l.encode(c), c)
				spans = append(spans, [2]uint64{c.StartSeq, c.EndSeq()})
				msgs = append(msgs, EncodeChange(c))
				next = max(next, c.EndSeq()+1)
			}
			chunk := -1
			for i, m := range msgs {
				var got []byte
				if got, chunk = e.msgAfter(i, chunk); !bytes.Equal(got, m) {
					t.Fatalf("seed %d run %d step %d: walked message %d of %d is %x, want %x", seed, run, step, i, len(msgs), got, m)
				}
				if got, want := e.bytesFrom(i), len(bytes.Join(msgs[i:], nil)); got != want {
					t.Fatalf("seed %d run %d step %d: %d bytes from %d, want %d", seed, run, step, got, i, want)
				}
				if got := e.msg(i); !bytes.Equal(got, m) {
					t.Fatalf("seed %d run %d step %d: message %d of %d is %x, want %x", seed, run, step, i, len(msgs), got, m)
				}
				if got, want := e.appendFrom(nil, i), bytes.Join(msgs[i:], nil); !bytes.Equal(got, want) {
					t.Fatalf("seed %d run %d step %d: messages from %d are %x, want %x", seed, run, step, i, got, want)
				}
			}
			top := uint64(0)
			for _, sp := range spans {
				top = max(top, sp[1])
			}
			for _, have := range []uint64{top, top + 1} {
				cur := have // the walk back (memLog.floorOf for changes kept by pointer)
				for i := len(spans) - 1; i >= 0; i-- {
					if spans[i][1] < cur {
						break
					}
					cur = min(cur, spans[i][0]-1)
				}
				if got := e.floor(have); got != cur {
					t.Fatalf("seed %d run %d step %d: floor(%d) = %d, want %d (spans %v)", seed, run, step, have, got, cur, spans)
				}
			}
		}
	}
}

// ApplyEncoded keeps the keys it interned for the next call while they are
// few (mesh applies an exchange in pieces, a call each), and drops them
// after a call that interned many, so a Doc's interning stays bounded.
func TestApplyEncodedInternedKeysBounded(t *testing.T) {
	for _, tc := range []struct {
		keys int
		kept bool
	}{
		{keys: 10, kept: true},
		{keys: keepInterned + 10, kept: false},
	} {
		t.Run(fmt.Sprint(tc.keys), func(t *testing.T) {
			src := newReplica(t, 2, nil)
			var buf []byte
			// One leading change: the first message of an element aliases
			// its strings and interns nothing.
			buf = append(buf, EncodeChange(src.update(t, set("/first", draft.Int(0))))...)
			for i := range tc.keys {
				buf = append(buf, EncodeChange(src.update(t, set(fmt.Sprintf("/k%d", i), draft.Int(int64(i)))))...)
			}
			d := newReplica(t, 1, nil)
			if _, err := d.ApplyEncoded(buf); err != nil {
				t.Fatal(err)
			}
			strs := d.log.rx.t.strs
			if got := len(strs) > 0; got != tc.kept {
				t.Fatalf("%d keys interned: kept %v (%d), want %v", tc.keys, got, len(strs), tc.kept)
			}
			if len(strs) > keepInterned {
				t.Fatalf("%d interned keys kept, bound %d", len(strs), keepInterned)
			}
			if !d.State().Equal(src.State()) {
				t.Fatal("states differ")
			}
		})
	}
}
