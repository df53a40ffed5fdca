package draft

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMapTreeAgainstGoMap drives the persistent map B+tree through random
// sets and deletes, persistent and transient, across many node splits,
// checking contents, order and that older versions never change.
func TestMapTreeAgainstGoMap(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 1))
	for round := range 6 {
		var ed *edit
		if round%2 == 1 {
			ed = new(edit)
		}
		v := EmptyMap()
		want := map[string]int64{}
		type snap struct {
			v Value
			m map[string]int64
		}
		var snaps []snap
		keyspace := 50 + r.IntN(3000)
		for i := range 6000 {
			k := fmt.Sprintf("k%05d", r.IntN(keyspace))
			if r.IntN(3) == 0 {
				var ok bool
				v, _, ok = v.mapDelete(ed, k)
				_, had := want[k]
				if ok != had {
					t.Fatalf("seed %d: delete %s: ok=%v had=%v", seed, k, ok, had)
				}
				delete(want, k)
			} else {
				v = v.mapSet(ed, k, Int(int64(i)))
				want[k] = int64(i)
			}
			if i%500 == 0 {
				if ed != nil {
					ed = new(edit) // publish: freeze what exists
				}
				snaps = append(snaps, snap{v, cloneMap(want)})
			}
		}
		snaps = append(snaps, snap{v, want})
		for si, s := range snaps {
			if s.v.Len() != len(s.m) {
				t.Fatalf("seed %d snap %d: len %d want %d", seed, si, s.v.Len(), len(s.m))
			}
			keys := slices.Sorted(func(yield func(string) bool) {
				for k := range s.m {
					if !yield(k) {
						return
					}
				}
			})
			got := slices.Collect(s.v.Keys())
			if !slices.Equal(got, keys) {
				t.Fatalf("seed %d snap %d: keys differ", seed, si)
			}
			for k, x := range s.m {
				if y, ok := s.v.Get(k); !ok || y.num != uint64(x) {
					t.Fatalf("seed %d snap %d: get %s", seed, si, k)
				}
			}
			if !s.v.Equal(MapOf(toValues(s.m))) {
				t.Fatalf("seed %d snap %d: not equal to a fresh build", seed, si)
			}
		}
	}
}

func cloneMap(m map[string]int64) map[string]int64 {
	c := make(map[string]int64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func toValues(m map[string]int64) map[string]Value {
	c := make(map[string]Value, len(m))
	for k, v := range m {
		c[k] = Int(v)
	}
	return c
}

// TestListTreeAgainstSlice does the same for the list B+tree.
func TestListTreeAgainstSlice(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 2))
	for round := range 6 {
		var ed *edit
		if round%2 == 1 {
			ed = new(edit)
		}
		v := EmptyList()
		var want []int64
		type snap struct {
			v Value
			s []int64
		}
		var snaps []snap
		for i := range 6000 {
			n := len(want)
			switch op := r.IntN(10); {
			case op < 4 || n == 0:
				j := r.IntN(n + 1)
				if op == 0 {
					j = n
				}
				v = v.listInsert(ed, j, Int(int64(i)))
				want = slices.Insert(want, j, int64(i))
			case op < 7 && round < 4:
				j := r.IntN(n)
				var old Value
				v, old = v.listRemove(ed, j)
				if old.num != uint64(want[j]) {
					t.Fatalf("seed %d: removed wrong item", seed)
				}
				want = slices.Delete(want, j, j+1)
			default:
				j := r.IntN(n)
				v, _ = v.listSet(ed, j, Int(-int64(i)))
				want[j] = -int64(i)
			}
			if i%500 == 0 {
				if ed != nil {
					ed = new(edit)
				}
				snaps = append(snaps, snap{v, slices.Clone(want)})
			}
		}
		snaps = append(snaps, snap{v, want})
		for si, s := range snaps {
			if s.v.Len() != len(s.s) {
				t.Fatalf("seed %d snap %d: len %d want %d", seed, si, s.v.Len(), len(s.s))
			}
			for i, x := range s.v.Items() {
				if x.num != uint64(s.s[i]) {
					t.Fatalf("seed %d snap %d: item %d", seed, si, i)
				}
				if y, _ := s.v.Index(i); y.num != x.num {
					t.Fatalf("seed %d snap %d: index %d", seed, si, i)
				}
			}
			items := make([]Value, len(s.s))
			for i, x := range s.s {
				items[i] = Int(x)
			}
			if !s.v.Equal(ListOf(items...)) {
				t.Fatalf("seed %d snap %d: not equal to a fresh build", seed, si)
			}
		}
	}
}
