//go:build crdtbench

package store

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
)

// BenchmarkRestartCRDT1M is the whole restart with a real crdt document of
// 1,000,000 keys: store Open and Load, then crdt.DecodeSnapshot and
// MergeSnapshot into an empty Doc. Building the document takes about a
// minute on the shared 2-vCPU machine, so it runs only with
// STORE_BENCH_CRDT=1 and the crdtbench build tag (use -benchtime=1x); the
// tag keeps the package's tests from depending on crdt and draft.
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
	c := testConfig(b.TempDir())
	c.ChunkBytes = DefaultChunkBytes
	s := openDisk(b, c)
	v := snap.Version()
	if err := s.Compact(context.Background(), Snapshot{Data: data, Version: v, Floor: v}); err != nil {
		b.Fatal(err)
	}
	closeStore(b, s)
	b.ReportAllocs()
	b.ResetTimer()
	var storeTime, decodeTime, mergeTime time.Duration
	for range b.N {
		t0 := time.Now()
		d := openDisk(b, c)
		st, err := d.Load(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		sn, err := crdt.DecodeSnapshot(st.Snapshot.Data)
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		clk2, _ := clock.New(clock.DefaultConfig(st.Replica))
		fresh, _ := crdt.New(crdt.DefaultConfig(st.Replica, clk2))
		if _, err := fresh.MergeSnapshot(sn); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		storeTime += t1.Sub(t0)
		decodeTime += t2.Sub(t1)
		mergeTime += t3.Sub(t2)
		closeStore(b, d)
	}
	n := float64(b.N)
	b.ReportMetric(storeTime.Seconds()/n, "store-s/op")
	b.ReportMetric(decodeTime.Seconds()/n, "decode-s/op")
	b.ReportMetric(mergeTime.Seconds()/n, "merge-s/op")
	b.ReportMetric(float64(len(data))/1e6, "snapshotMB")
}
