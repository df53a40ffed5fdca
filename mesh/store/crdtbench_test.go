//go:build crdtbench && unix

package store

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
)

// BenchmarkRestartCRDT1M is the whole restart with a real crdt document of
// 1,000,000 keys: store Open and Load, then crdt.Restore (decode and bulk
// restore into a new Doc), which is what a node does at start. Building the
// document takes about a minute on the shared 2-vCPU machine, so it runs
// only with STORE_BENCH_CRDT=1 and the crdtbench build tag (use
// -benchtime=1x); the tag keeps the package's tests from depending on crdt
// and draft. total-s/op is store + restore; cpu-s/op is the process's CPU
// time for them (all threads, the collector's included), a figure a loaded
// machine disturbs less than wall time. decode-s/op times DecodeSnapshot
// alone (inside restore-s/op; not added to the total).
func BenchmarkRestartCRDT1M(b *testing.B) {
	if os.Getenv("STORE_BENCH_CRDT") == "" {
		b.Skip("set STORE_BENCH_CRDT=1")
	}
	clk, _ := clock.New(clock.DefaultConfig(1))
	doc, _ := crdt.New(crdt.DefaultConfig(1, clk))
	for u := range 100 {
		_, err := doc.Update(func(d *draft.Draft) error {
			for k := range 10_000 {
				if err := d.Set(draft.P(fmt.Sprintf("k%07d", u*10_000+k)), draft.Int(int64(k))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	snap := doc.Snapshot()
	data := crdt.EncodeSnapshot(snap)
	want := doc.State()
	doc, snap = nil, nil
	c := testConfig(b.TempDir())
	c.ChunkBytes = DefaultChunkBytes
	s := openDisk(b, c)
	v := crdt.VersionVector{1: 1_000_000}
	if err := s.Compact(context.Background(), Snapshot{Data: data, Version: v, Floor: v}); err != nil {
		b.Fatal(err)
	}
	closeStore(b, s)
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	var storeTime, restoreTime, decodeTime, cpu time.Duration
	for range b.N {
		c0 := cpuTime()
		t0 := time.Now()
		d := openDisk(b, c)
		st, err := d.Load(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		clk2, _ := clock.New(clock.DefaultConfig(st.Replica))
		fresh, err := crdt.Restore(crdt.DefaultConfig(st.Replica, clk2), st.Snapshot.Data)
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		cpu += cpuTime() - c0
		storeTime += t1.Sub(t0)
		restoreTime += t2.Sub(t1)
		b.StopTimer()
		if fresh.State().Len() != want.Len() || !fresh.State().Equal(want) {
			b.Fatal("restored state differs")
		}
		fresh = nil
		runtime.GC()
		t3 := time.Now()
		if _, err := crdt.DecodeSnapshot(st.Snapshot.Data); err != nil {
			b.Fatal(err)
		}
		decodeTime += time.Since(t3)
		closeStore(b, d)
		runtime.GC()
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(storeTime.Seconds()/n, "store-s/op")
	b.ReportMetric(restoreTime.Seconds()/n, "restore-s/op")
	b.ReportMetric((storeTime+restoreTime).Seconds()/n, "total-s/op")
	b.ReportMetric(cpu.Seconds()/n, "cpu-s/op")
	b.ReportMetric(decodeTime.Seconds()/n, "decode-s/op")
	b.ReportMetric(float64(len(data))/1e6, "snapshotMB")
}

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
