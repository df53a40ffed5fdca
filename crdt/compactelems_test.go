package crdt

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
)

// expandLists makes the registers of every compact element below n, as
// any read of them would.
func expandLists(n *node) {
	if n == nil {
		return
	}
	for _, s := range n.keys {
		expandLists(s.child)
	}
	if n.lst != nil {
		for s := range n.lst.all() {
			expandLists(s.child)
		}
	}
}

// compactCount returns the number of compact elements below n, without
// making any register.
func compactCount(n *node) int {
	if n == nil {
		return 0
	}
	c := 0
	for _, s := range n.keys {
		c += compactCount(s.child)
	}
	if n.lst != nil {
		c += n.lst.compact.n
		for _, pg := range n.lst.elems.pages {
			for _, s := range pg {
				if s != nil {
					c += compactCount(s.child)
				}
			}
		}
	}
	return c
}

// Compact elements are invisible: replica a leaves its local scalar
// inserts compact until something reads them, replica b (the same replica
// id and clock, the same recipes) makes every register at once; a third
// replica's concurrent writes, deletes, moves and inserts reach both. After
// every step their states and changes agree, and at the end their
// registers (dump), snapshots and what a fourth replica makes of their
// changes.
func TestCompactElementsMatchRegisters(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4, 5, 6, 7, 8} {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
			a, b := newReplica(t, 1, nil), newReplica(t, 1, nil)
			c := newReplica(t, 2, nil)
			var fromA []*Change
			both := func(f func(d *draft.Draft) error) {
				ca, cb := a.update(t, f), b.update(t, f)
				if !reflect.DeepEqual(ca, cb) {
					t.Fatalf("seed %d: the replicas made different changes:\n%+v\n%+v", seed, ca, cb)
				}
				if ca != nil {
					fromA = append(fromA, ca)
					c.apply(t, ca)
				}
				expandLists(b.root)
			}
			lp := draft.Path{draft.Key("l")}
			both(func(d *draft.Draft) error { return d.Set(lp, draft.EmptyList()) })
			sawCompact := 0
			for step := range 300 {
				n := a.State().Len()
				if l, ok := a.State().Get("l"); ok {
					n = l.Len()
				}
				at := func(i int) draft.Path { return draft.Path{draft.Key("l"), draft.Index(i)} }
				switch k := rng.IntN(10); {
				case k < 4 || n == 0:
					var v draft.Value
					switch rng.IntN(5) {
					case 0:
						v = draft.String("s" + strconv.Itoa(step))
					case 1:
						v = draft.Null()
					case 2:
						v = obj("x", draft.Int(int64(step)))
					default:
						v = draft.Int(int64(step))
					}
					i := rng.IntN(n + 1) // outside the recipe, which runs once per replica
					both(func(d *draft.Draft) error { return d.Insert(at(i), v) })
				case k == 4:
					i := rng.IntN(n)
					both(func(d *draft.Draft) error { return d.Set(at(i), draft.Float(float64(step)+0.5)) })
				case k == 5:
					i := rng.IntN(n)
					both(func(d *draft.Draft) error { return d.Delete(at(i)) })
				case k == 6:
					i, j := rng.IntN(n), rng.IntN(n)
					both(func(d *draft.Draft) error { return d.Move(lp, i, j) })
				case k == 7:
					// Two inserts and a write to the first in one change.
					i := rng.IntN(n + 1)
					both(func(d *draft.Draft) error {
						if err := d.Insert(at(i), draft.Int(1)); err != nil {
							return err
						}
						if err := d.Insert(at(i), draft.Int(2)); err != nil {
							return err
						}
						return d.Set(at(i+1), draft.Int(3))
					})
				default:
					// The other replica, concurrently with a's next step.
					cn := 0
					if l, ok := c.State().Get("l"); ok {
						cn = l.Len()
					}
					var cc *Change
					switch {
					case cn > 0 && rng.IntN(3) == 0:
						cc = c.update(t, del("/l/"+strconv.Itoa(rng.IntN(cn))))
					case cn > 0 && rng.IntN(2) == 0:
						cc = c.update(t, set("/l/"+strconv.Itoa(rng.IntN(cn)), draft.String("c"+strconv.Itoa(step))))
					default:
						i := rng.IntN(cn + 1)
						cc = c.update(t, func(d *draft.Draft) error { return d.Insert(at(i), draft.Int(-int64(step))) })
					}
					// Not a.apply: its check renders a's list, which reads
					// (and so expands) every element; here the remote op
					// reaches a compact one first.
					if _, err := a.Apply(cc); err != nil {
						t.Fatal(err)
					}
					b.apply(t, cc)
					expandLists(b.root)
				}
				if sa, sb := mustJSON(t, a.State()), mustJSON(t, b.State()); sa != sb {
					t.Fatalf("seed %d step %d: states differ:\n%s\n%s", seed, step, sa, sb)
				}
				sawCompact = max(sawCompact, compactCount(a.root))
			}
			if sawCompact == 0 {
				t.Fatalf("seed %d: no compact element was ever made", seed)
			}
			checkConsistent(t, a.Doc)
			if compactCount(b.root) != 0 {
				t.Fatalf("seed %d: b kept compact elements", seed)
			}
			// A snapshot merged in and a compaction reach the compact
			// elements too: c makes a few more, and both merge c's state.
			for i := range 5 {
				c.update(t, func(d *draft.Draft) error {
					return d.Insert(draft.Path{draft.Key("l"), draft.Index(i)}, draft.Int(int64(1000+i)))
				})
			}
			both(func(d *draft.Draft) error {
				return d.Insert(draft.Path{draft.Key("l"), draft.Index(0)}, draft.String("last"))
			})
			csnap := c.Snapshot()
			if _, err := a.MergeSnapshot(csnap); err != nil {
				t.Fatal(err)
			}
			if _, err := b.MergeSnapshot(csnap); err != nil {
				t.Fatal(err)
			}
			a.Compact(a.Floor())
			b.Compact(b.Floor())
			sa, sb := EncodeSnapshot(a.Snapshot()), EncodeSnapshot(b.Snapshot())
			if !bytes.Equal(sa, sb) {
				t.Fatalf("seed %d: snapshots differ", seed)
			}
			if da, db := dump(a.Doc), dump(b.Doc); da != db {
				t.Fatalf("seed %d: registers differ:\n%s\n---\n%s", seed, da, db)
			}
			e := newReplica(t, 3, nil)
			e.apply(t, c.ChangesSince(nil, 0)...)
			e.apply(t, fromA...)
			a.apply(t, c.ChangesSince(nil, 0)...)
			if se, sa := mustJSON(t, e.State()), mustJSON(t, a.State()); se != sa {
				t.Fatalf("seed %d: a fourth replica holds %s, a %s", seed, se, sa)
			}
		})
	}
}

// A W4-like run of local scalar inserts keeps every element compact, and
// a snapshot, which reads them all, makes their registers.
func TestCompactElementsStayCompact(t *testing.T) {
	r := newReplica(t, 1, nil)
	r.update(t, set("/l", draft.EmptyList()))
	for i := range 500 {
		p := draft.Path{draft.Key("l"), draft.Index(i / 2)}
		r.update(t, func(d *draft.Draft) error { return d.Insert(p, draft.Int(int64(i))) })
	}
	if got := compactCount(r.root); got != 500 {
		t.Fatalf("%d compact elements, want 500", got)
	}
	l := r.root.keys["l"].child.lst
	if l.numElems() != 500 || l.elems.n != 0 {
		t.Fatalf("numElems %d, registers %d; want 500 and 0", l.numElems(), l.elems.n)
	}
	_ = EncodeSnapshot(r.Snapshot())
	if got := compactCount(r.root); got != 0 || l.elems.n != 500 || l.compact.pages != nil {
		t.Fatalf("after a snapshot: %d compact elements, %d registers", got, l.elems.n)
	}
	checkConsistent(t, r.Doc)
}

// A restored document's lists make compact elements too (restore builds
// them through node.list), and those expand into registers owned by the
// restored list.
func TestCompactElementsAfterRestore(t *testing.T) {
	a := newReplica(t, 1, nil)
	a.update(t, set("/l", draft.EmptyList()))
	for i := range 20 {
		p := draft.Path{draft.Key("l"), draft.Index(i / 3)}
		a.update(t, func(d *draft.Draft) error { return d.Insert(p, draft.Int(int64(i))) })
	}
	last := a.clk.Last()
	clk, err := clock.New(clock.Config{Replica: 1, Physical: clock.NewManual(1_700_000_000_000), MaxDrift: time.Hour, Resume: last})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Restore(DefaultConfig(1, clk), EncodeSnapshot(a.Snapshot()))
	if err != nil {
		t.Fatal(err)
	}
	var cs []*Change
	for i := range 20 {
		p := draft.Path{draft.Key("l"), draft.Index(i * 2)}
		c, err := d.Update(func(x *draft.Draft) error { return x.Insert(p, draft.String("r"+strconv.Itoa(i))) })
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	if got := compactCount(d.root); got != 20 {
		t.Fatalf("%d compact elements after restore, want 20", got)
	}
	l := d.root.keys["l"].child
	for s := range l.lst.all() {
		if s.owner != l {
			t.Fatalf("element %v's register is owned by %p, not its list %p", s.elem, s.owner, l)
		}
	}
	checkConsistent(t, d)
	b := newReplica(t, 2, nil) // a peer that had the original's changes takes the new ones
	b.apply(t, a.ChangesSince(nil, 0)...)
	b.apply(t, cs...)
	if got, want := mustJSON(t, d.State()), b.json(t); got != want {
		t.Fatalf("restored replica %s, a peer after its changes %s", got, want)
	}
}
