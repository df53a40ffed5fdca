package seq

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the CPU time (user + system, all threads) this process has
// used. The machine the figures come from is shared, so wall-clock ns/op
// includes time spent waiting for a core; CPU time per insert does not.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportInserts reports inserts/s (wall clock) and CPU ns per insert for a
// loop of b.N ops of perOp inserts each that started at CPU time cpu0.
func reportInserts(b *testing.B, perOp int, cpu0 time.Duration) {
	n := float64(b.N * perOp)
	b.ReportMetric(n/b.Elapsed().Seconds(), "inserts/s")
	b.ReportMetric(float64(cpuTime(b)-cpu0)/n, "cpu-ns/insert")
}

const w4Inserts = 10_000

// w4Positions returns the insert positions of W4: insert i goes to a random
// index in 0..i.
func w4Positions() []int {
	rng := rand.New(rand.NewPCG(4, 4))
	pos := make([]int, w4Inserts)
	for i := range pos {
		pos[i] = rng.IntN(i + 1)
	}
	return pos
}

// BenchmarkInsertAtW4: one op = 10,000 local inserts at random positions into
// a fresh list.
func BenchmarkInsertAtW4(b *testing.B) {
	pos := w4Positions()
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		l := New()
		for i, p := range pos {
			if _, err := l.InsertAt(p, id(1, uint64(i+1))); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportInserts(b, w4Inserts, cpu0)
}

// BenchmarkIntegrateW4: one op = the 10,000 W4 inserts integrated, in order,
// on a second replica.
func BenchmarkIntegrateW4(b *testing.B) {
	pos := w4Positions()
	src := New()
	ops := make([]insertOp, len(pos))
	for i, p := range pos {
		x := id(1, uint64(i+1))
		o, err := src.InsertAt(p, x)
		if err != nil {
			b.Fatal(err)
		}
		ops[i] = insertOp{x, o}
	}
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		l := New()
		for _, op := range ops {
			if _, err := l.Integrate(op.id, op.o); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportInserts(b, w4Inserts, cpu0)
}

// BenchmarkIntegrateConcurrentRuns: one op = two replicas' concurrent
// 5,000-slot runs at the same place (one forward, one backward) integrated on a
// third replica, one run after the other. The first slot of the second run has
// to walk past the first run's chain of 5,000 to find its place.
func BenchmarkIntegrateConcurrentRuns(b *testing.B) {
	const n = 5000
	var runs [2][]insertOp
	for r := range 2 {
		l := New()
		for i := range n {
			x := id(uint64(r+1), uint64(i+1))
			ix := i
			if r == 1 {
				ix = 0
			}
			o, err := l.InsertAt(ix, x)
			if err != nil {
				b.Fatal(err)
			}
			runs[r] = append(runs[r], insertOp{x, o})
		}
	}
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		l := New()
		for r := range 2 {
			for _, op := range runs[r] {
				if _, err := l.Integrate(op.id, op.o); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	reportInserts(b, 2*n, cpu0)
}

// big100k is a 100,000-slot list (random positions, every 10th slot hidden).
func big100k(b *testing.B) (*List, []ID) {
	rng := rand.New(rand.NewPCG(100, 1))
	l := New()
	ids := make([]ID, 0, 100_000)
	for i := range 100_000 {
		x := id(uint64(1+i%3), uint64(i+1))
		if _, err := l.InsertAt(rng.IntN(l.Len()+1), x); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, x)
	}
	for i := 0; i < len(ids); i += 10 {
		if _, _, err := l.SetVisible(ids[i], false); err != nil {
			b.Fatal(err)
		}
	}
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return l, ids
}

func BenchmarkIndexOf100k(b *testing.B) {
	l, ids := big100k(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, ok := l.IndexOf(ids[i%len(ids)]); !ok {
			b.Fatal("missing")
		}
		i++
	}
}

func BenchmarkAt100k(b *testing.B) {
	l, _ := big100k(b)
	n := l.Len()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := l.At((i * 7919) % n); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkEncodeW4(b *testing.B) {
	l := w4List(b, w4Inserts)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = l.AppendEncode(buf[:0])
	}
	b.ReportMetric(float64(len(buf)), "bytes")
}

func BenchmarkDecodeW4(b *testing.B) {
	enc := w4List(b, w4Inserts).AppendEncode(nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCloneW4(b *testing.B) {
	l := w4List(b, w4Inserts)
	b.ReportAllocs()
	for b.Loop() {
		l.Clone()
	}
}

// BenchmarkSetVisible100k: hide then show a random slot of a 100,000-slot
// list (two SetVisible calls per op), as a delete and its undo would.
func BenchmarkSetVisible100k(b *testing.B) {
	l, ids := big100k(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		x := ids[i%len(ids)]
		if _, _, err := l.SetVisible(x, false); err != nil {
			b.Fatal(err)
		}
		if _, _, err := l.SetVisible(x, true); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
