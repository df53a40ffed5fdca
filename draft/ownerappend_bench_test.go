package draft

import (
	"strconv"
	"testing"
)

// BenchmarkW1OwnedAppend is BenchmarkW1Owned with the patches appended to
// one reused buffer (ProduceForwardOwnedAppend), as crdt's Doc.Update
// produces: what is left is the fixed cost of a one-write owned produce
// and the write itself.
func BenchmarkW1OwnedAppend(b *testing.B) {
	var o Owner
	state := w1Base()
	keys := make([]string, benchKeys)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	var buf []Patch
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		k, v := keys[i%benchKeys], Int(int64(i))
		next, p, err := ProduceForwardOwnedAppend(buf[:0], state, &o, func(d *Draft) error {
			return d.Map("counters").Set(k, v)
		})
		if err != nil || len(p) != 1 {
			b.Fatalf("W1 owned append: %v %d", err, len(p))
		}
		state, buf = next, p
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "produces/s")
}
