package crdt

import (
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/draft"
)

// BenchmarkW4InsertsOnly is W4's timed part alone (10,000 inserts at
// random list positions, each its own change), with the document's set-up
// and W4's snapshot left out, so that a CPU or memory profile of many runs
// shows the insert path only. Allocation figures are per 10,000 inserts;
// faults/op counts the minor page faults of the timed part (a first touch
// of fresh memory costs about 15 us on the team's VM).
func BenchmarkW4InsertsOnly(b *testing.B) {
	b.ReportAllocs()
	lp := draft.Path{draft.Key("l")}
	var cpu time.Duration
	var faults int64
	for b.Loop() {
		b.StopTimer()
		d := benchDoc(b, 1, nil)
		mustUpdate(b, d, func(x *draft.Draft) error { return x.Set(lp, draft.EmptyList()) })
		r := mulberry32(4)
		b.StartTimer()
		c0, f0 := processCPU(), minorFaults()
		for i := range benchN4 {
			pos := int(r.next() * float64(i+1))
			p := draft.Path{draft.Key("l"), draft.Index(pos)}
			v := draft.Int(int64(i))
			mustUpdate(b, d, func(x *draft.Draft) error { return x.Insert(p, v) })
		}
		cpu += processCPU() - c0
		faults += minorFaults() - f0
	}
	b.ReportMetric(float64(benchN4)*float64(b.N)/b.Elapsed().Seconds(), "inserts/s")
	b.ReportMetric(float64(benchN4)*float64(b.N)/cpu.Seconds(), "inserts/cpu-s")
	b.ReportMetric(float64(faults)/float64(b.N), "faults/op")
}
