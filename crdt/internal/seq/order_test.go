package seq

import (
	"math/bits"
	"math/rand/v2"
	"testing"
)

// TestOrderTreeDeep grows a list past two levels of inner nodes (root
// splits included) with local inserts at random places, some hidden
// again, and checks the order tree's links and counts and every index
// against a plain slice.
func TestOrderTreeDeep(t *testing.T) {
	const n = 60_000
	seed := uint64(7)
	rng := rand.New(rand.NewPCG(seed, 1))
	l := New()
	var all []ID // every slot in order
	vis := map[ID]bool{}
	var shown []ID // visible slots in order, rebuilt when checked
	for s := uint64(1); s <= n; s++ {
		ix := rng.IntN(l.Len() + 1)
		x := id(1, s)
		if _, err := l.InsertAt(ix, x); err != nil {
			t.Fatalf("seed %d: insert %d at %d: %v", seed, s, ix, err)
		}
		vis[x] = true
		if s%5 == 0 {
			h := id(1, s-uint64(rng.IntN(int(s))))
			if _, _, err := l.SetVisible(h, false); err != nil {
				t.Fatalf("seed %d: hide %v: %v", seed, h, err)
			}
			vis[h] = false
		}
	}
	for x := range l.All() {
		all = append(all, x)
	}
	for _, x := range all {
		if vis[x] {
			shown = append(shown, x)
		}
	}
	if len(shown) != l.Len() || l.Slots() != n {
		t.Fatalf("seed %d: %d visible, Len %d, %d slots", seed, len(shown), l.Len(), l.Slots())
	}
	checkTree(t, l)
	if depth := l.depth(); depth < 3 {
		t.Fatalf("seed %d: order tree depth %d, want three inner levels", seed, depth)
	}
	before := 0 // visible slots before all[k]
	for k := range all {
		want := before
		if vis[all[k]] {
			before++
		}
		if k%7 != 0 {
			continue
		}
		if got, v, ok := l.IndexOf(all[k]); got != want || v != vis[all[k]] || !ok {
			t.Fatalf("seed %d: IndexOf(%v) = %d %v %v, want %d", seed, all[k], got, v, ok, want)
		}
	}
	for i := 0; i < len(shown); i += 7 {
		if got, err := l.At(i); err != nil || got != shown[i] {
			t.Fatalf("seed %d: At(%d) = %v %v, want %v", seed, i, got, err, shown[i])
		}
	}
	if got, err := l.At(len(shown) - 1); err != nil || got != shown[len(shown)-1] {
		t.Fatalf("seed %d: the last visible slot is %v %v, want %v", seed, got, err, shown[len(shown)-1])
	}
	// A clone spans the same node pages and shares none of them.
	c := l.Clone()
	checkTree(t, c)
	for s := uint64(n + 1); s <= n+300; s++ {
		if _, err := c.InsertAt(int(s)%(c.Len()+1), id(1, s)); err != nil {
			t.Fatalf("seed %d: clone insert: %v", seed, err)
		}
		if _, _, err := c.SetVisible(id(1, s-n), false); err != nil {
			t.Fatalf("seed %d: clone hide: %v", seed, err)
		}
	}
	checkTree(t, c)
	checkTree(t, l)
	if l.Slots() != n || l.Len() != len(shown) {
		t.Fatalf("seed %d: the original changed with its clone: %d slots, %d visible", seed, l.Slots(), l.Len())
	}
}

// depth returns the number of inner levels of the order tree.
func (l *List) depth() int {
	d := 1
	for p := l.root; !l.inners[p].leafKids; p = l.inners[p].kids[0] {
		d++
	}
	return d
}

// TestSelectBit checks selectBit against clearing the lowest set bit i
// times, on random masks and the edges.
func TestSelectBit(t *testing.T) {
	seed := uint64(11)
	rng := rand.New(rand.NewPCG(seed, 2))
	masks := []uint64{1, 1 << 63, ^uint64(0), 0x8000_0001_0000_0000, 0x0000_0000_8000_0001}
	for range 2000 {
		masks = append(masks, rng.Uint64()&rng.Uint64())
	}
	for _, m := range masks {
		x := m
		for i := 0; x != 0; i++ {
			want := bits.TrailingZeros64(x)
			if got := selectBit(m, i); got != want {
				t.Fatalf("seed %d: selectBit(%#x, %d) = %d, want %d", seed, m, i, got, want)
			}
			x &= x - 1
		}
	}
}

// BenchmarkSelectBit: the k-th visible slot of leaf-like masks.
func BenchmarkSelectBit(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	type q struct {
		m uint64
		i int
	}
	qs := make([]q, 4096)
	for k := range qs {
		m := rng.Uint64() | rng.Uint64() | 1
		qs[k] = q{m, rng.IntN(bits.OnesCount64(m))}
	}
	b.ReportAllocs()
	sum, k := 0, 0
	for b.Loop() {
		sum += selectBit(qs[k&4095].m, qs[k&4095].i)
		k++
	}
	if sum < 0 {
		b.Fatal(sum)
	}
}
