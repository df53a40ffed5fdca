package seq

import (
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/syncmesh/syncmesh/clock"
)

func id(r, s uint64) ID { return ID{Replica: clock.ReplicaID(r), Seq: s} }

// checkTree verifies the structural invariants of l: treap links, heap order,
// counts, and that list order equals the in-order walk of the Fugue tree.
func checkTree(t *testing.T, l *List) {
	t.Helper()
	ns := &l.n
	// Order tree: walk it from the root, checking links and counts, and
	// collect the slots in order.
	var inOrder []int32
	var walkInner func(p, parent int32) int32
	walkInner = func(p, parent int32) int32 {
		in := &l.inners[p]
		if in.parent != parent || in.n < 1 || in.n > innerCap {
			t.Fatalf("order: inner %d: parent %d (want %d), n %d", p, in.parent, parent, in.n)
		}
		var total int32
		for i, k := range in.kids[:in.n] {
			var c int32
			if in.leafKids {
				L := &l.leaves[k]
				if L.parent != p || L.at != int32(i) || L.n < 1 || L.n > leafCap {
					t.Fatalf("order: leaf %d: parent %d (want %d), n %d", k, L.parent, p, L.n)
				}
				if L.n < 64 && L.vis>>L.n != 0 {
					t.Fatalf("order: leaf %d has visibility bits past its end", k)
				}
				for j, x := range L.items[:L.n] {
					if ns.at(x).leaf != k || ns.at(x).vis != (L.vis&(1<<j) != 0) {
						t.Fatalf("order: slot %v: leaf %d (in %d), vis %v", ns.at(x).id, ns.at(x).leaf, k, ns.at(x).vis)
					}
					inOrder = append(inOrder, x)
				}
				c = int32(bits.OnesCount64(L.vis))
			} else {
				if l.inners[k].at != int32(i) {
					t.Fatalf("order: inner %d is child %d of %d, records %d", k, i, p, l.inners[k].at)
				}
				c = walkInner(k, p)
			}
			if in.cnts[i] != c {
				t.Fatalf("order: inner %d child %d count %d, want %d", p, i, in.cnts[i], c)
			}
			total += c
		}
		return total
	}
	if total := walkInner(l.root, 0); int(total) != l.Len() {
		t.Fatalf("order: root counts %d visible, Len %d", total, l.Len())
	}
	var chain []int32
	for lf := int32(1); lf != 0; lf = l.leaves[lf].next {
		chain = append(chain, l.leaves[lf].items[:l.leaves[lf].n]...)
	}
	if !slices.Equal(chain, inOrder) || len(inOrder) == 0 || inOrder[0] != headNode {
		t.Fatal("order: leaf chain differs from the tree walk or does not start with the head")
	}
	if len(inOrder) != l.Slots()+1 || l.ids.Len() != l.Slots() || len(l.ids.appendValues(nil)) != l.Slots() {
		t.Fatalf("slots: tree %d, index %d, counter %d", len(inOrder)-1, l.ids.Len(), l.Slots())
	}
	byID := l.ids.appendValues(nil)
	if !slices.IsSortedFunc(byID, func(a, b int32) int { return ns.at(a).id.Compare(ns.at(b).id) }) {
		t.Fatal("index: sorted() is not in id order")
	}
	for _, x := range inOrder[1:] {
		if got := l.ids.Get(ns.at(x).id); got != x {
			t.Fatalf("index: %v gives node %d, want %d", ns.at(x).id, got, x)
		}
	}
	// In-order walk of the Fugue tree.
	var fugue []ID
	var fw func(n int32)
	fw = func(n int32) {
		for side := sideLeft; side <= sideRight; side++ {
			for c := ns.at(n).kids[side]; c != nilNode; c = ns.at(c).sib {
				if ns.at(c).parent != n || int(ns.at(c).side) != side {
					t.Fatalf("fugue: bad parent link at %v", ns.at(c).id)
				}
				if s := ns.at(c).sib; s != nilNode && ns.at(c).id.Compare(ns.at(s).id) >= 0 {
					t.Fatalf("fugue: siblings out of order at %v", ns.at(c).id)
				}
			}
		}
		for c := ns.at(n).kids[sideLeft]; c != nilNode; c = ns.at(c).sib {
			fw(c)
		}
		if n != headNode {
			fugue = append(fugue, ns.at(n).id)
		}
		for c := ns.at(n).kids[sideRight]; c != nilNode; c = ns.at(c).sib {
			fw(c)
		}
	}
	fw(headNode)
	var order []ID
	for id := range l.All() {
		order = append(order, id)
	}
	if !slices.Equal(order, fugue) {
		t.Fatalf("list order %v != fugue order %v", order, fugue)
	}
}

// visibleIDs returns the visible slot ids in order.
func visibleIDs(l *List) []ID {
	var out []ID
	for id, v := range l.All() {
		if v {
			out = append(out, id)
		}
	}
	return out
}

func TestIDCompare(t *testing.T) {
	cases := []struct {
		a, b ID
		want int
	}{
		{id(1, 1), id(1, 1), 0},
		{id(1, 1), id(1, 2), -1},
		{id(1, 9), id(2, 1), -1},
		{id(3, 1), id(2, 9), 1},
		{ID{}, id(1, 1), -1},
	}
	for _, c := range cases {
		if got := c.a.Compare(c.b); got != c.want {
			t.Errorf("%v.Compare(%v) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	if !(ID{}).IsZero() || id(0, 1).IsZero() {
		t.Error("IsZero")
	}
}

func TestInsertAt(t *testing.T) {
	cases := []struct {
		name    string
		indexes []int // insert id(1, i+1) at indexes[i]
		want    []uint64
		origins []Origins
	}{
		{"append", []int{0, 1, 2}, []uint64{1, 2, 3},
			[]Origins{{}, {Left: id(1, 1)}, {Left: id(1, 2)}}},
		{"prepend", []int{0, 0, 0}, []uint64{3, 2, 1},
			[]Origins{{}, {Right: id(1, 1)}, {Right: id(1, 2)}}},
		{"middle", []int{0, 1, 1}, []uint64{1, 3, 2},
			[]Origins{{}, {Left: id(1, 1)}, {Right: id(1, 2)}}},
		{"after a left child", []int{0, 0, 1}, []uint64{2, 3, 1},
			[]Origins{{}, {Right: id(1, 1)}, {Left: id(1, 2)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := New()
			for i, ix := range c.indexes {
				o, err := l.InsertAt(ix, id(1, uint64(i+1)))
				if err != nil {
					t.Fatal(err)
				}
				if o != c.origins[i] {
					t.Errorf("insert %d: origins %+v, want %+v", i, o, c.origins[i])
				}
			}
			var want []ID
			for _, s := range c.want {
				want = append(want, id(1, s))
			}
			if got := visibleIDs(l); !slices.Equal(got, want) {
				t.Errorf("order %v, want %v", got, want)
			}
			checkTree(t, l)
		})
	}
}

func TestErrors(t *testing.T) {
	l := New()
	if _, err := l.InsertAt(0, id(1, 1)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"insert zero id", second(l.InsertAt(0, ID{})), ErrZeroID},
		{"insert past end", second(l.InsertAt(2, id(1, 2))), ErrIndex},
		{"insert negative", second(l.InsertAt(-1, id(1, 2))), ErrIndex},
		{"insert duplicate", second(l.InsertAt(0, id(1, 1))), ErrDuplicate},
		{"integrate duplicate", second(l.Integrate(id(1, 1), Origins{})), ErrDuplicate},
		{"integrate zero", second(l.Integrate(ID{}, Origins{})), ErrZeroID},
		{"integrate missing left", second(l.Integrate(id(2, 1), Origins{Left: id(3, 1)})), ErrMissingOrigin},
		{"integrate missing right", second(l.Integrate(id(2, 1), Origins{Right: id(3, 1)})), ErrMissingOrigin},
		{"integrate both origins", second(l.Integrate(id(2, 1), Origins{Left: id(1, 1), Right: id(1, 1)})), ErrInvalidOrigins},
		{"at past end", second(l.At(1)), ErrIndex},
		{"at negative", second(l.At(-1)), ErrIndex},
		{"set visible unknown", third(l.SetVisible(id(9, 9), false)), ErrNotFound},
		{"set visible zero", third(l.SetVisible(ID{}, false)), ErrZeroID},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, c.err, c.want)
		}
	}
	var me *MissingOriginError
	_, err := l.Integrate(id(2, 1), Origins{Right: id(3, 7)})
	if !errors.As(err, &me) || me.Origin != id(3, 7) || me.Slot != id(2, 1) {
		t.Errorf("missing origin error %v", err)
	}
	if l.Slots() != 1 || l.Len() != 1 {
		t.Errorf("failed calls changed the list: %d slots", l.Slots())
	}
	if ix, err := l.Integrate(id(1, 1), Origins{}); ix != 0 || !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate integrate: %d %v", ix, err)
	}
}

func second[A any](_ A, err error) error        { return err }
func third[A, B any](_ A, _ B, err error) error { return err }

func TestVisibility(t *testing.T) {
	l := New()
	for i := range 5 {
		if _, err := l.InsertAt(i, id(1, uint64(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		id        ID
		vis       bool
		wantIndex int
		changed   bool
		wantLen   int
	}{
		{id(1, 2), false, 1, true, 4},
		{id(1, 2), false, 1, false, 4},
		{id(1, 3), false, 1, true, 3},
		{id(1, 5), false, 2, true, 2},
		{id(1, 2), true, 1, true, 3},
	}
	for i, s := range steps {
		ix, ch, err := l.SetVisible(s.id, s.vis)
		if err != nil || ix != s.wantIndex || ch != s.changed || l.Len() != s.wantLen {
			t.Fatalf("step %d: index %d changed %v err %v len %d", i, ix, ch, err, l.Len())
		}
		checkTree(t, l)
	}
	if ix, vis, ok := l.IndexOf(id(1, 3)); ix != 2 || vis || !ok {
		t.Errorf("IndexOf tombstone: %d %v %v", ix, vis, ok)
	}
	if _, _, ok := l.IndexOf(id(7, 7)); ok {
		t.Error("IndexOf unknown reported ok")
	}
	if l.Slots() != 5 {
		t.Errorf("Slots %d", l.Slots())
	}
	// Inserting after a tombstone: the visible slot before index 2 is 1.2.
	if _, err := l.InsertAt(2, id(1, 6)); err != nil {
		t.Fatal(err)
	}
	if got := visibleIDs(l); !slices.Equal(got, []ID{id(1, 1), id(1, 2), id(1, 6), id(1, 4)}) {
		t.Errorf("order %v", got)
	}
	checkTree(t, l)
}

// TestLocalAgainstOracle drives one List and the naive oracle with the same
// random local inserts and deletes and compares origins, order and indexes.
func TestLocalAgainstOracle(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			l, o := New(), newOracle()
			for s := uint64(1); s <= 300; s++ {
				if l.Len() > 0 && rng.IntN(4) == 0 {
					vis := o.visible()
					victim := vis[rng.IntN(len(vis))]
					o.vis[victim] = false
					ix, ch, err := l.SetVisible(victim, false)
					if err != nil || !ch || ix != o.indexOf(victim) {
						t.Fatalf("seed %d: delete %v: %d %v %v", seed, victim, ix, ch, err)
					}
					continue
				}
				ix := rng.IntN(l.Len() + 1)
				got, err := l.InsertAt(ix, id(1, s))
				if err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				if want := o.insertAt(ix, id(1, s)); got != want {
					t.Fatalf("seed %d: insert %d at %d: origins %+v, want %+v", seed, s, ix, got, want)
				}
				if j, vis, ok := l.IndexOf(id(1, s)); j != ix || !vis || !ok {
					t.Fatalf("seed %d: IndexOf after insert at %d: %d", seed, ix, j)
				}
			}
			if !slices.Equal(listSlots(l), o.slots()) {
				t.Fatalf("seed %d: slots differ", seed)
			}
			vis := o.visible()
			for i, want := range vis {
				got, err := l.At(i)
				if err != nil || got != want {
					t.Fatalf("seed %d: At(%d) = %v, want %v", seed, i, got, want)
				}
				if j, _, _ := l.IndexOf(want); j != i {
					t.Fatalf("seed %d: IndexOf(%v) = %d, want %d", seed, want, j, i)
				}
			}
			checkTree(t, l)
		})
	}
}

func TestClone(t *testing.T) {
	l := New()
	for i := range 50 {
		if _, err := l.InsertAt(i/2, id(1, uint64(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := l.SetVisible(id(1, 7), false); err != nil {
		t.Fatal(err)
	}
	c := l.Clone()
	checkTree(t, c)
	before := listSlots(l)
	if !slices.Equal(listSlots(c), before) {
		t.Fatal("clone differs")
	}
	// Mutating the clone leaves the original alone, and vice versa.
	if _, err := c.InsertAt(3, id(2, 1)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.SetVisible(id(1, 9), false); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(listSlots(l), before) || l.Has(id(2, 1)) {
		t.Fatal("mutating the clone changed the original")
	}
	if _, err := l.Integrate(id(3, 1), Origins{Left: id(1, 4)}); err != nil {
		t.Fatal(err)
	}
	if c.Has(id(3, 1)) {
		t.Fatal("mutating the original changed the clone")
	}
	checkTree(t, l)
	checkTree(t, c)
}

// ByID gives every slot in id order with the origins it was placed by, local
// (InsertAt's result) or remote (Integrate's argument), tombstones included.
func TestByID(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		l := New()
		want := map[ID]Origins{}
		var ids []ID
		for s := uint64(1); s <= 200; s++ {
			r := uint64(1 + rng.IntN(3))
			x := id(r, s)
			var o Origins
			var err error
			if r == 1 || len(ids) == 0 {
				o, err = l.InsertAt(rng.IntN(l.Len()+1), x)
			} else {
				// A remote slot: after or before a known one.
				if p := ids[rng.IntN(len(ids))]; rng.IntN(2) == 0 {
					o = Origins{Left: p}
				} else {
					o = Origins{Right: p}
				}
				if rng.IntN(10) == 0 {
					o = Origins{}
				}
				_, err = l.Integrate(x, o)
			}
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			want[x], ids = o, append(ids, x)
			if rng.IntN(5) == 0 {
				if _, _, err := l.SetVisible(ids[rng.IntN(len(ids))], false); err != nil {
					t.Fatal(err)
				}
			}
		}
		var got []ID
		for x, o := range l.ByID() {
			if o != want[x] {
				t.Fatalf("seed %d: %v has origins %+v, placed by %+v", seed, x, o, want[x])
			}
			got = append(got, x)
		}
		if len(got) != len(ids) || !slices.IsSortedFunc(got, ID.Compare) {
			t.Fatalf("seed %d: %d slots, want %d in id order", seed, len(got), len(ids))
		}
		// Integrating them causally (seqs here are one counter) rebuilds
		// the same order.
		type placed struct {
			x ID
			o Origins
		}
		var ps []placed
		for x, o := range l.ByID() {
			ps = append(ps, placed{x, o})
		}
		slices.SortFunc(ps, func(a, b placed) int { return int(a.x.Seq) - int(b.x.Seq) })
		c := New()
		for _, p := range ps {
			if _, err := c.Integrate(p.x, p.o); err != nil {
				t.Fatalf("seed %d: rebuild: %v", seed, err)
			}
		}
		if !slices.Equal(slotIDs(c), slotIDs(l)) {
			t.Fatalf("seed %d: rebuilt order differs", seed)
		}
	}
}

func slotIDs(l *List) []ID {
	var out []ID
	for x := range l.All() {
		out = append(out, x)
	}
	return out
}
