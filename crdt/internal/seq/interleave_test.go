package seq

import (
	"fmt"
	"slices"
	"testing"
)

type insertOp struct {
	id ID
	o  Origins
}

// typeRun inserts n slots on l from replica r with seqs from start: forward
// (each after the previous, starting at index) or backward (each at index).
// It returns the ops in the order they were made.
func typeRun(t *testing.T, l *List, r uint64, start uint64, index, n int, backward bool) []insertOp {
	t.Helper()
	var ops []insertOp
	for i := range n {
		ix := index + i
		if backward {
			ix = index
		}
		x := id(r, start+uint64(i))
		o, err := l.InsertAt(ix, x)
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, insertOp{x, o})
	}
	return ops
}

func apply(t *testing.T, l *List, ops []insertOp) {
	t.Helper()
	for _, op := range ops {
		if _, err := l.Integrate(op.id, op.o); err != nil {
			t.Fatal(err)
		}
	}
}

// permutations returns every order of 0..n-1.
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := slices.Insert(slices.Clone(p), i, n-1)
			out = append(out, q)
		}
	}
	return out
}

// TestNoInterleaving: 2 and 3 replicas concurrently type runs at the same
// place of a shared base, forward or backward; every replica and every
// delivery order ends with the same list in which each run is contiguous and
// reads as typed.
func TestNoInterleaving(t *testing.T) {
	bases := []struct {
		name  string
		base  int // slots in the shared base, typed forward by replica 9
		index int // where the runs are typed
	}{
		{"empty", 0, 0},
		{"middle", 2, 1},
		{"end", 2, 2},
		{"start", 2, 0},
	}
	const runLen = 4
	for _, replicas := range []int{2, 3} {
		for _, dirs := range []string{"fwd", "bwd", "mixed"} {
			for _, b := range bases {
				t.Run(fmt.Sprintf("%d/%s/%s", replicas, dirs, b.name), func(t *testing.T) {
					base := New()
					baseOps := typeRun(t, base, 9, 1, 0, b.base, false)
					// each replica types concurrently on its own copy of the base
					runs := make([][]insertOp, replicas)
					for r := range replicas {
						l := base.Clone()
						backward := dirs == "bwd" || (dirs == "mixed" && r%2 == 1)
						runs[r] = typeRun(t, l, uint64(r+1), 1, b.index, runLen, backward)
					}
					var want []slot
					for _, perm := range permutations(replicas) {
						// an observer receives the base, then the runs in this order
						obs := New()
						apply(t, obs, baseOps)
						for _, r := range perm {
							apply(t, obs, runs[r])
						}
						got := listSlots(obs)
						checkTree(t, obs)
						if want == nil {
							want = got
							checkRuns(t, got, replicas, dirs)
						} else if !slices.Equal(got, want) {
							t.Fatalf("order %v gives %v, want %v", perm, got, want)
						}
					}
					// op-by-op round robin delivery, reversed replica order
					obs := New()
					apply(t, obs, baseOps)
					for i := range runLen {
						for r := replicas - 1; r >= 0; r-- {
							apply(t, obs, runs[r][i:i+1])
						}
					}
					if got := listSlots(obs); !slices.Equal(got, want) {
						t.Fatalf("round robin gives %v, want %v", got, want)
					}
				})
			}
		}
	}
}

// checkRuns asserts that each replica's slots form one contiguous block that
// reads as the replica typed it: seqs ascending for a forward run, descending
// for a backward one.
func checkRuns(t *testing.T, got []slot, replicas int, dirs string) {
	t.Helper()
	for r := 1; r <= replicas; r++ {
		first, last := -1, -1
		var seqs []uint64
		for i, s := range got {
			if s.ID.Replica == id(uint64(r), 1).Replica {
				if first < 0 {
					first = i
				}
				last = i
				seqs = append(seqs, s.ID.Seq)
			}
		}
		if last-first+1 != len(seqs) {
			t.Fatalf("replica %d's run is interleaved: %v", r, got)
		}
		backward := dirs == "bwd" || (dirs == "mixed" && (r-1)%2 == 1)
		ok := slices.IsSorted(seqs)
		if backward {
			slices.Reverse(seqs)
			ok = slices.IsSorted(seqs)
		}
		if !ok {
			t.Fatalf("replica %d's run is out of typing order: %v", r, got)
		}
	}
}

// TestConcurrentSamePosition: single concurrent inserts at the same position
// order by replica id on every replica, also next to tombstones.
func TestConcurrentSamePosition(t *testing.T) {
	base := New()
	baseOps := typeRun(t, base, 9, 1, 0, 3, false)
	if _, _, err := base.SetVisible(id(9, 2), false); err != nil {
		t.Fatal(err)
	}
	var ops []insertOp
	for r := uint64(1); r <= 3; r++ {
		l := base.Clone()
		ops = append(ops, typeRun(t, l, 4-r, 1, 1, 1, false)...)
	}
	for _, perm := range permutations(3) {
		l := New()
		apply(t, l, baseOps)
		for _, i := range perm {
			apply(t, l, ops[i:i+1])
		}
		want := []ID{id(9, 1), id(1, 1), id(2, 1), id(3, 1), id(9, 2), id(9, 3)}
		var got []ID
		for x := range l.All() {
			got = append(got, x)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("order %v: %v, want %v", perm, got, want)
		}
	}
}
