package draft

import (
	"strconv"
	"testing"
)

// The owned mode on the W shapes: the same workloads as bench_test.go,
// through ProduceForwardOwned and ApplyOwned with one Owner, the state
// chained from one operation to the next and never frozen in between
// (nobody else holds it). Compare with BenchmarkW1Forward, W2Forward and
// W3ApplyBatches.

// BenchmarkW1Owned is BenchmarkW1Forward under an Owner.
func BenchmarkW1Owned(b *testing.B) {
	var o Owner
	state := w1Base()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		next, p, err := ProduceForwardOwned(state, &o, func(d *Draft) error {
			return d.Map("counters").Set("k"+strconv.Itoa(i%benchKeys), Int(int64(i)))
		})
		if err != nil || len(p) != 1 {
			b.Fatalf("W1 owned: %v %d", err, len(p))
		}
		state = next
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "produces/s")
}

// BenchmarkW2Owned is BenchmarkW2Forward under an Owner.
func BenchmarkW2Owned(b *testing.B) { benchW2With(b, w2Owned) }

// BenchmarkW3ApplyOwned is BenchmarkW3ApplyBatches through ApplyOwned
// (W3 restarts from W1's base, which the owner never changes: it copies
// nodes it did not make).
func BenchmarkW3ApplyOwned(b *testing.B) {
	var o Owner
	benchW3With(b, func(state Value, patches []Patch) (Value, error) { return ApplyOwned(state, &o, patches) })
}

// BenchmarkListInsertRandom: one op = one produce inserting one item at a
// random position of a list that grows to 10,000 items and starts again
// (crdt's W4 shape), plain and owned.
func BenchmarkListInsertRandom(b *testing.B) {
	for _, owned := range []bool{false, true} {
		name := "plain"
		if owned {
			name = "owned"
		}
		b.Run(name, func(b *testing.B) {
			var o Owner
			seed := uint32(4)
			var state Value
			b.ReportAllocs()
			for i := range b.N {
				if i%10_000 == 0 {
					state = MapOf(map[string]Value{"l": EmptyList()})
				}
				seed = seed*1664525 + 1013904223
				pos := int(uint64(seed) * uint64(i%10_000+1) >> 32)
				recipe := func(d *Draft) error { return d.List("l").Insert(pos, Int(int64(i))) }
				var next Value
				var err error
				if owned {
					next, _, err = ProduceForwardOwned(state, &o, recipe)
				} else {
					next, _, err = ProduceForward(state, recipe)
				}
				if err != nil {
					b.Fatal(err)
				}
				state = next
			}
		})
	}
}

// BenchmarkCounterOwned: one op = one owned produce incrementing the only
// key of a map (crdt's W3 shape: the produce's fixed cost).
func BenchmarkCounterOwned(b *testing.B) {
	var o Owner
	state := MapOf(map[string]Value{"c": Int(0)})
	p := Path{Key("c")}
	one := Int(1)
	b.ReportAllocs()
	for range b.N {
		next, _, err := ProduceForwardOwned(state, &o, func(d *Draft) error { return d.Increment(p, one) })
		if err != nil {
			b.Fatal(err)
		}
		state = next
	}
}

// BenchmarkCounterPlain is BenchmarkCounterOwned through ProduceForward.
func BenchmarkCounterPlain(b *testing.B) {
	state := MapOf(map[string]Value{"c": Int(0)})
	p := Path{Key("c")}
	one := Int(1)
	b.ReportAllocs()
	for range b.N {
		next, _, err := ProduceForward(state, func(d *Draft) error { return d.Increment(p, one) })
		if err != nil {
			b.Fatal(err)
		}
		state = next
	}
}
