package crdt

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
)

// flatSnapshot builds, without going through Update, the snapshot a replica
// holds after writing n keys "k%07d" in changes of 10,000 keys each (the
// shape of mesh/store's BenchmarkRestartCRDT1M).
func flatSnapshot(n int) *Snapshot {
	const perChange = 10_000
	root := &snapNode{keys: make([]string, n), slots: make([]*snapSlot, n)}
	slots := make([]snapSlot, n)
	entries := make([]entry, n)
	for i := range n {
		entries[i] = entry{
			id:  OpID{Replica: 1, Seq: uint64(i + 1)},
			ts:  clock.Timestamp{Wall: 1_764_000_000_000 + int64(i/perChange), Replica: 1},
			val: draft.Int(int64(i % perChange)),
		}
		slots[i].entries = entries[i : i+1 : i+1]
		root.keys[i] = fmt.Sprintf("k%07d", i)
		root.slots[i] = &slots[i]
	}
	return &Snapshot{vv: VersionVector{1: uint64(n)}, root: root}
}

const restoreBenchKeys = 1_000_000

// BenchmarkSnapshot1M times each step of a restart with 1,000,000 keys:
// encoding (what compaction pays), decoding, and loading into an empty
// document.
func BenchmarkSnapshot1M(b *testing.B) {
	snap := flatSnapshot(restoreBenchKeys)
	data := EncodeSnapshot(snap)
	b.Run("Encode", func(b *testing.B) {
		cpuStep(b, func() error { EncodeSnapshot(snap); return nil })
		b.ReportMetric(float64(len(data))/1e6, "MB")
	})
	b.Run("Decode", func(b *testing.B) {
		cpuStep(b, func() error { _, err := DecodeSnapshot(data); return err })
	})
	b.Run("Merge", func(b *testing.B) {
		s, err := DecodeSnapshot(data)
		if err != nil {
			b.Fatal(err)
		}
		cpuStep(b, func() error { _, err := benchDoc(b, 2, nil).MergeSnapshot(s); return err })
	})
	clk, err := clock.New(clock.Config{Replica: 2, Physical: clock.NewManual(1_764_000_000_000), MaxDrift: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Restore", func(b *testing.B) {
		cpuStep(b, func() error { _, err := Restore(DefaultConfig(2, clk), data); return err })
	})
	// What compaction pays: the document's snapshot, then its encoding.
	b.Run("DocSnapshot", func(b *testing.B) {
		d, err := Restore(DefaultConfig(2, clk), data)
		if err != nil {
			b.Fatal(err)
		}
		cpuStep(b, func() error { d.Snapshot(); return nil })
	})
}

// cpuStep runs step b.N times after collecting the setup's garbage (it is
// not this step's CPU) and reports allocations and CPU seconds per step.
func cpuStep(b *testing.B, step func() error) {
	b.ReportAllocs()
	runtime.GC()
	b.ResetTimer()
	c0 := cpuTime()
	for b.Loop() {
		if err := step(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/op")
}
