package seq

import (
	"cmp"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/syncmesh/syncmesh/clock"
)

// TestIDMap drives an IDMap and a Go map with the same sets of random ids
// (a few replicas, dense and sparse seqs) and compares lookups, length,
// the id-ordered walk and a clone.
func TestIDMap(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		m := NewIDMap[*int](0)
		want := map[ID]*int{}
		next := map[clock.ReplicaID]uint64{}
		for i := range 3000 {
			r := clock.ReplicaID(1 + rng.IntN(4))
			next[r] += 1 + uint64(rng.IntN(3)*rng.IntN(40)) // mostly dense, some gaps
			id := ID{Replica: r, Seq: next[r]}
			v := new(int)
			*v = i
			m.Set(id, v)
			want[id] = v
			probe := ID{Replica: clock.ReplicaID(1 + rng.IntN(5)), Seq: uint64(rng.IntN(int(next[r]) + 40))}
			if got := m.Get(probe); got != want[probe] {
				t.Fatalf("seed %d: Get(%v) = %p, want %p", seed, probe, got, want[probe])
			}
		}
		if m.Len() != len(want) {
			t.Fatalf("seed %d: Len %d, want %d", seed, m.Len(), len(want))
		}
		ids := slices.SortedFunc(maps.Keys(want), func(a, b ID) int { return a.Compare(b) })
		c := m.Clone()
		m.Set(ID{Replica: 9, Seq: 1}, new(int)) // changes m only
		var got []ID
		for id, v := range c.All() {
			if v != want[id] {
				t.Fatalf("seed %d: All gives %v -> %p, want %p", seed, id, v, want[id])
			}
			got = append(got, id)
		}
		if !slices.Equal(got, ids) || c.Len() != len(want) {
			t.Fatalf("seed %d: the clone walks %d ids (Len %d), want %d in id order", seed, len(got), c.Len(), len(ids))
		}
		rank := make(map[*int]int, len(ids))
		for k, id := range ids {
			rank[want[id]] = k
		}
		vals := c.appendValues(nil)
		if len(vals) != len(ids) || !slices.IsSortedFunc(vals, func(a, b *int) int { return cmp.Compare(rank[a], rank[b]) }) {
			t.Fatalf("seed %d: appendValues gives %d values, not in id order", seed, len(vals))
		}
		if m.Len() != len(want)+1 {
			t.Fatalf("seed %d: the original has %d ids after a Set, want %d", seed, m.Len(), len(want)+1)
		}
		// Setting a recorded id again replaces its value and counts once.
		again := new(int)
		m.Set(ids[0], again)
		if m.Get(ids[0]) != again || m.Len() != len(want)+1 {
			t.Fatalf("seed %d: a second Set of %v: value %p (want %p), Len %d (want %d)", seed, ids[0], m.Get(ids[0]), again, m.Len(), len(want)+1)
		}
	}
}

// BenchmarkIDMapSetW4 and BenchmarkGoMapSetW4: one op = recording 10,000
// consecutive ids of one replica (a W4 list's element registers) in a new
// map, then looking each up once.
func BenchmarkIDMapSetW4(b *testing.B) {
	vals := make([]int, w4Inserts)
	b.ReportAllocs()
	for b.Loop() {
		m := NewIDMap[*int](0)
		for i := range vals {
			m.Set(id(1, uint64(i+1)), &vals[i])
		}
		for i := range vals {
			if m.Get(id(1, uint64(i+1))) != &vals[i] {
				b.Fatal("lost")
			}
		}
	}
}

func BenchmarkGoMapSetW4(b *testing.B) {
	vals := make([]int, w4Inserts)
	b.ReportAllocs()
	for b.Loop() {
		m := map[ID]*int{}
		for i := range vals {
			m[id(1, uint64(i+1))] = &vals[i]
		}
		for i := range vals {
			if m[id(1, uint64(i+1))] != &vals[i] {
				b.Fatal("lost")
			}
		}
	}
}
