package draft

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestBufferedAddsSort checks the radix sort of buffered keys against a
// comparison sort: keys shorter and longer than the 8-byte prefix, with
// NUL bytes, shared prefixes and repeats, which must stay in set order.
func TestBufferedAddsSort(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 7))
	alphabet := []string{"", "\x00", "a", "b", "key", "key1", "\xff", "pre-fix-", "z\x00"}
	for it := range 200 {
		var keys []string
		for range 1 + r.IntN(300) {
			var b strings.Builder
			for range r.IntN(4) {
				b.WriteString(alphabet[r.IntN(len(alphabet))])
			}
			if r.IntN(3) == 0 {
				b.WriteString(strconv.Itoa(r.IntN(50)))
			}
			keys = append(keys, b.String())
		}
		want := make([]int, len(keys))
		for i := range want {
			want[i] = i
		}
		slices.SortStableFunc(want, func(x, y int) int { return strings.Compare(keys[x], keys[y]) })
		pa := pendingAdds{n: len(keys)}
		got := pa.sorted(func(i int) string { return keys[i] })
		for i, o := range got {
			if int(o.i) != want[i] {
				t.Fatalf("seed %d iteration %d: position %d is %q (set %d), want %q (set %d)",
					seed, it, i, keys[o.i], o.i, keys[want[i]], want[i])
			}
		}
	}
}

// TestBufferedAdds fills empty maps key by key (the buffered path), with
// keys set twice, set back, reads, failed operations and other writes in
// between, and checks state, patches and inverse patches against the
// same recipe run where every set goes through the tree (a non-empty map
// is never buffered).
func TestBufferedAdds(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 11))
	for it := range 300 {
		steps := make([][3]int, 1+r.IntN(120))
		for i := range steps {
			steps[i] = [3]int{r.IntN(10), r.IntN(40), r.IntN(3)}
		}
		run := func(seeded bool) (Value, []Patch, []Patch, error) {
			m := map[string]Value{"a": EmptyMap(), "b": MapOf(map[string]Value{"x": EmptyMap()})}
			if seeded {
				m["a"] = MapOf(map[string]Value{"~seed": Null()})
				m["b"] = MapOf(map[string]Value{"x": MapOf(map[string]Value{"~seed": Null()})})
			}
			base := MapOf(m)
			return Produce(base, func(d *Draft) error {
				a, bx := d.Map("a"), d.Map("b").Map("x")
				for _, st := range steps {
					k, v := "k"+strconv.Itoa(st[1]), Int(int64(st[2]))
					var err error
					switch st[0] {
					case 0, 1, 2, 3:
						err = a.Set(k, v)
					case 4, 5:
						err = bx.Set(k, v)
					case 6:
						if a.Len() < 0 || a.Has(k) && !a.Value().IsValid() {
							t.Fatal("read of a buffered map")
						}
					case 7:
						_ = a.Delete(k) // may fail: not there yet
					case 8:
						_ = d.Set(P("a", k, "deep"), v) // fails unless k holds a map
					case 9:
						err = a.Set(k, MapOf(map[string]Value{"deep": v}))
					}
					if err != nil {
						return err
					}
				}
				return nil
			})
		}
		next, fwd, inv, err := run(false)
		if err != nil {
			t.Fatalf("seed %d iteration %d: %v", seed, it, err)
		}
		ref, _, _, err := run(true)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ = Apply(ref, []Patch{{Op: OpRemove, Path: P("a", "~seed")}, {Op: OpRemove, Path: P("b", "x", "~seed")}})
		if !next.Equal(ref) {
			t.Fatalf("seed %d iteration %d: buffered %v, through the tree %v", seed, it, next, ref)
		}
		base := MapOf(map[string]Value{"a": EmptyMap(), "b": MapOf(map[string]Value{"x": EmptyMap()})})
		if got, err := Apply(base, fwd); err != nil || !got.Equal(next) {
			t.Fatalf("seed %d iteration %d: patches give %v (%v), want %v\n%s", seed, it, got, err, next, jsonOf(fwd))
		}
		if got, err := Apply(next, inv); err != nil || !got.Equal(base) {
			t.Fatalf("seed %d iteration %d: inverse gives %v (%v)\n%s", seed, it, got, err, jsonOf(inv))
		}
		seen := map[string]bool{}
		for _, p := range fwd {
			if p.Op == OpAdd && seen[p.Path.String()] {
				t.Fatalf("seed %d iteration %d: two adds at %s without a remove between\n%s", seed, it, p.Path, jsonOf(fwd))
			}
			seen[p.Path.String()] = p.Op == OpAdd || p.Op == OpReplace
		}
	}
}
