package crdt

import (
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
)

// The simulator's remote-apply pattern at 10,000 nodes, scaled down to
// stay under 2 GB: many documents each apply every one of a stream of small
// changes, already decoded and shared by all of them, in an interleaved
// order (every document applies change i before any applies change i+1), so
// each document is cold in cache when its turn comes. The workload is
// simulations/scenarios/scale-10k.yaml's: writes from 100 writers on 100 keys,
// the simulator's default mix (set 0.6, delete 0.1, counter 0.2 under
// /cnt, list append 0.1 under /log), 10 % of writes on the key of the write
// just before (usually concurrent with it). A writer has seen every write
// but the last coldLag (about a second of gossip at 50 writes/s). Like
// simulations/document.go (stateReadPatches), each document reads State
// after every 64 visible patches.
// coldDocs is the number of documents: 2000, or COLD_DOCS (more make the
// documents colder still: the simulator's 10,000 find even the page
// tables out of cache).
var coldDocs = envInt("COLD_DOCS", 2000)

const (
	coldWrites    = 1000
	coldWriters   = 100
	coldKeys      = 100
	coldLag       = 50
	coldConflict  = 0.1
	coldStateRead = 64
)

// coldWorkload makes the shared stream of changes, in causal order, by
// writers with strategies strat (nil: the defaults).
func coldWorkload(b *testing.B, phys *clock.Manual, strat *Strategies) []*Change {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	writers := make([]*Doc, coldWriters)
	seen := make([]int, coldWriters) // changes applied so far, from the front
	for i := range writers {
		clk, err := clock.New(clock.Config{Replica: clock.ReplicaID(i + 1), Physical: phys, MaxDrift: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		cfg := DefaultConfig(clock.ReplicaID(i+1), clk)
		cfg.Strategies = strat
		if writers[i], err = New(cfg); err != nil {
			b.Fatal(err)
		}
	}
	var out []*Change
	lastKey := ""
	for w := range coldWrites {
		phys.Advance(20 * time.Millisecond)
		k := rng.IntN(coldWriters)
		d := writers[k]
		for ; seen[k] < len(out)-coldLag; seen[k]++ {
			if _, err := d.Apply(out[seen[k]]); err != nil {
				b.Fatal(err)
			}
		}
		key := "k" + strconv.Itoa(rng.IntN(coldKeys))
		if lastKey != "" && rng.Float64() < coldConflict {
			key = lastKey
		}
		lastKey = key
		val := draft.String("w" + strconv.Itoa(w))
		delta := draft.Int(int64(1 + rng.IntN(5)))
		x := rng.Float64()
		c, err := d.Update(func(dr *draft.Draft) error {
			root := dr.Root()
			switch {
			case x < 0.6:
				return root.Set(key, val)
			case x < 0.7:
				if root.Has(key) {
					return root.Delete(key)
				}
				return root.Set(key, val)
			case x < 0.9:
				if !root.Has("cnt") {
					if err := root.Set("cnt", draft.MapOf(nil)); err != nil {
						return err
					}
				}
				m := root.Map("cnt")
				if !m.Has(key) {
					return m.Set(key, delta)
				}
				return m.Increment(key, delta)
			default:
				if !root.Has("log") {
					return root.Set("log", draft.ListOf(val))
				}
				return root.List("log").Append(val)
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		if c != nil {
			out = append(out, c) // its author meets it again as a duplicate
		}
	}
	return out
}

// BenchmarkColdRemoteApply reports the cost of one remote apply of a small
// shared change into a cold document (wall and process CPU ns, bytes and
// allocations per apply, state reads included; the CPU figure counts the
// collector's background work too), the minor page faults of a run, and
// the memory a document retains at the end.
func BenchmarkColdRemoteApply(b *testing.B) { coldRemoteApply(b, false) }

// BenchmarkColdRemoteApplySkip is BenchmarkColdRemoteApply as the
// simulator configures its replicas (simulations/engine.go): SkipPatches
// (nobody reads a replica's patches, so there are no state reads either)
// and counters under /cnt, at the writers too (so increments travel as
// counter ops).
func BenchmarkColdRemoteApplySkip(b *testing.B) { coldRemoteApply(b, true) }

func coldRemoteApply(b *testing.B, skip bool) {
	phys := clock.NewManual(1_764_000_000_000)
	var strat *Strategies
	if skip {
		strat = NewStrategies().MustSet("/cnt/*", Count())
	}
	cs := coldWorkload(b, phys, strat)
	var ms runtime.MemStats
	var elapsed, cpu time.Duration
	var faults int64
	var applies, allocs, bytes, retained uint64
	for b.Loop() {
		b.StopTimer()
		docs := make([]*Doc, coldDocs)
		unread := make([]int, coldDocs)
		runtime.GC()
		runtime.ReadMemStats(&ms)
		base := ms.HeapAlloc
		for i := range docs {
			id := clock.ReplicaID(1000 + i)
			clk, err := clock.New(clock.Config{Replica: id, Physical: phys, MaxDrift: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			cfg := DefaultConfig(id, clk)
			cfg.SkipPatches, cfg.Strategies = skip, strat
			if docs[i], err = New(cfg); err != nil {
				b.Fatal(err)
			}
		}
		runtime.ReadMemStats(&ms)
		m0, a0 := ms.Mallocs, ms.TotalAlloc
		b.StartTimer()
		start, c0, f0 := time.Now(), processCPU(), minorFaults()
		for _, c := range cs {
			for i, d := range docs {
				res, err := d.Apply(c)
				if err != nil || res.Applied != 1 {
					b.Fatalf("apply: %v (%+v)", err, res)
				}
				if unread[i] += len(res.Patches); unread[i] >= coldStateRead {
					d.State()
					unread[i] = 0
				}
			}
		}
		elapsed += time.Since(start)
		cpu += processCPU() - c0
		faults += minorFaults() - f0
		b.StopTimer()
		applies += uint64(len(cs) * len(docs))
		runtime.ReadMemStats(&ms)
		allocs += ms.Mallocs - m0
		bytes += ms.TotalAlloc - a0
		runtime.GC()
		runtime.ReadMemStats(&ms)
		retained += (ms.HeapAlloc - base) / uint64(len(docs))
		if p := os.Getenv("COLD_HEAP_PROFILE"); p != "" {
			writeHeapProfile(b, p)
		}
		if !docs[0].State().Equal(docs[len(docs)-1].State()) {
			b.Fatal("documents differ")
		}
		runtime.KeepAlive(docs)
		b.StartTimer()
	}
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(applies), "ns/apply")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(applies), "cpu-ns/apply")
	b.ReportMetric(float64(faults)/float64(b.N), "faults/op")
	b.ReportMetric(float64(bytes)/float64(applies), "B/apply")
	b.ReportMetric(float64(allocs)/float64(applies), "allocs/apply")
	b.ReportMetric(float64(retained)/float64(b.N), "retained-B/doc")
}

// envInt returns the environment variable name as an int, or def.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// writeHeapProfile writes the live heap to path (COLD_HEAP_PROFILE): what
// the documents retain, by allocation site.
func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}
