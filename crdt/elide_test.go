package crdt

import (
	"slices"
	"testing"

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
