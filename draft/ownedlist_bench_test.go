package draft

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkW4OwnedListInsert is the draft half of crdt's W4: 10,000 inserts
// at random positions of the list at /l, each its own owned produce into a
// reused patch buffer (as crdt's Doc.Update runs them), from an empty
// list. It measures what crdt's full-path W4 spends in draft, apart from
// the crdt half (crdt's BenchmarkLocalCommitList).
func BenchmarkW4OwnedListInsert(b *testing.B) {
	const n = 10_000
	lp := Path{Key("l")}
	b.ReportAllocs()
	for b.Loop() {
		var o Owner
		state := MapOf(map[string]Value{"l": EmptyList()})
		r := rand.New(rand.NewPCG(4, 4))
		var buf []Patch
		for i := range n {
			at, v := Index(r.IntN(i+1)), Int(int64(i))
			next, p, err := ProduceForwardOwnedAppend(buf[:0], state, &o, func(d *Draft) error {
				return d.Insert(append(lp, at), v)
			})
			if err != nil || len(p) != 1 {
				b.Fatalf("owned insert %d: %v %d", i, err, len(p))
			}
			state, buf = next, p
		}
	}
	b.ReportMetric(n*float64(b.N)/b.Elapsed().Seconds(), "inserts/s")
}
