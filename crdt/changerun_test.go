package crdt

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestChangeRunOracle checks changeRun against a plain slice through
// random pushes and front drops that cross chunk boundaries.
func TestChangeRunOracle(t *testing.T) {
	seed := uint64(rand.Int64())
	rng := rand.New(rand.NewPCG(seed, 7))
	var r changeRun
	var want []*Change
	next := uint64(1)
	for step := range 30 {
		if rng.IntN(4) > 0 {
			for range rng.IntN(3 * logChunk) {
				c := &Change{StartSeq: next, Ops: make([]Op, 1+rng.IntN(2))}
				next = c.EndSeq() + 1
				r.push(c)
				want = append(want, c)
			}
		} else if len(want) > 0 {
			k := rng.IntN(len(want) + 1)
			r.dropFront(k)
			want = want[k:]
		}
		if r.len() != len(want) {
			t.Fatalf("seed %d step %d: len %d, want %d", seed, step, r.len(), len(want))
		}
		if got := r.appendFrom(nil, 0); !slices.Equal(got, want) {
			t.Fatalf("seed %d step %d: contents differ", seed, step)
		}
		for range 5 {
			if len(want) == 0 {
				break
			}
			i := rng.IntN(len(want))
			if r.at(i) != want[i] {
				t.Fatalf("seed %d step %d: at(%d) differs", seed, step, i)
			}
			have := want[i].StartSeq - 1 + uint64(rng.IntN(len(want[i].Ops)))
			j := r.search(have)
			wj, _ := slices.BinarySearchFunc(want, have, func(c *Change, h uint64) int {
				if c.EndSeq() > h {
					return 1
				}
				return -1
			})
			if j != wj || j != i {
				t.Fatalf("seed %d step %d: search(%d) = %d, want %d (i %d)", seed, step, have, j, wj, i)
			}
			if got := r.appendFrom(nil, i); !slices.Equal(got, want[i:]) {
				t.Fatalf("seed %d step %d: appendFrom(%d) differs", seed, step, i)
			}
		}
	}
}
