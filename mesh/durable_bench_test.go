package mesh

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
	"github.com/syncmesh/syncmesh/mesh/store"
)

// BenchmarkDurableUpdate measures acknowledged updates per second of one
// Node with a data directory (fsync on), 8 concurrent writers, each over
// its own keys (256 per writer, rewritten in turn). window=1 is the
// synchronous Update; window=W keeps W UpdateAsync calls in flight per
// writer, waiting for the oldest before making another, so that more
// updates share each group commit. The node is not started: Update works
// before Start and the mesh adds nothing to the write path.
//
//	go test -run '^$' -bench DurableUpdate -benchtime 20000x ./mesh/
func BenchmarkDurableUpdate(b *testing.B) {
	const writers = 8
	for _, window := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("writers=%d/window=%d", writers, window), func(b *testing.B) {
			cfg := LocalConfig()
			cfg.Name, cfg.DataDir = "bench", b.TempDir()
			n, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer n.Close()
			ctx := context.Background()
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					prefix := "w" + strconv.Itoa(w) + "-"
					inflight := make([]*Pending, 0, window)
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						key := prefix + strconv.Itoa(int(i%256))
						if window == 1 {
							if err := n.Update(ctx, set(key, "v")); err != nil {
								b.Error(err)
								return
							}
							continue
						}
						if len(inflight) == window {
							if err := inflight[0].Wait(ctx); err != nil {
								b.Error(err)
								return
							}
							inflight = append(inflight[:0], inflight[1:]...)
						}
						p, err := n.UpdateAsync(ctx, set(key, "v"))
						if err != nil {
							b.Error(err)
							return
						}
						inflight = append(inflight, p)
					}
					for _, p := range inflight {
						if err := p.Wait(ctx); err != nil {
							b.Error(err)
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			st := n.Status()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "updates/s")
			if st.StoreCommits > 0 {
				b.ReportMetric(float64(st.StoreWrites)/float64(st.StoreCommits), "writes/commit")
			}
		})
	}
}

// BenchmarkDurableRestart measures mesh.New on a data directory holding a
// document of keys keys (SYNCMESH_RESTART_KEYS, default 100,000), written
// as changes of 1,000 keys each: restored from the log alone, and from a
// snapshot with an empty log (what compaction leaves). One iteration is
// New plus Close.
//
//	SYNCMESH_RESTART_KEYS=1000000 go test -run '^$' -bench DurableRestart -benchtime 3x ./mesh/
func BenchmarkDurableRestart(b *testing.B) {
	keys := 100_000
	if s := os.Getenv("SYNCMESH_RESTART_KEYS"); s != "" {
		k, err := strconv.Atoi(s)
		if err != nil || k < 1000 {
			b.Fatalf("SYNCMESH_RESTART_KEYS=%q: want an integer >= 1000", s)
		}
		keys = k
	}
	for _, mode := range []string{"log", "snapshot"} {
		b.Run(fmt.Sprintf("keys=%d/%s", keys, mode), func(b *testing.B) {
			cfg := LocalConfig()
			cfg.Name, cfg.DataDir, cfg.NoSync = "bench", b.TempDir(), true
			n, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			for start := 0; start < keys; start += 1000 {
				err := n.Update(ctx, func(d *draft.Draft) error {
					for i := start; i < start+1000 && i < keys; i++ {
						if err := d.Root().Set("k"+strconv.Itoa(i), draft.Int(int64(i))); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			if mode == "snapshot" {
				n.mu.Lock()
				data, v, err := n.doc.Snapshot()
				n.mu.Unlock()
				if err != nil {
					b.Fatal(err)
				}
				if err := n.store.Compact(ctx, store.Snapshot{Data: data, Version: store.VersionVector(v), Floor: store.VersionVector(v)}); err != nil {
					b.Fatal(err)
				}
			}
			if err := n.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				n, err := New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				if got := n.State().Len(); got != keys {
					b.Fatalf("%d keys restored, want %d", got, keys)
				}
				b.StopTimer()
				n.Close()
				b.StartTimer()
			}
		})
	}
}

// noSyncNode returns a Node with a data directory and NoSync, not started.
func noSyncNode(b *testing.B) *Node {
	cfg := LocalConfig()
	cfg.Name, cfg.DataDir, cfg.NoSync = "bench", b.TempDir(), true
	n, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkDurableServe measures a durable node's anti-entropy reply to a
// peer that has nothing, in 64 KiB pieces asked for one after another
// until the peer has everything: 20,000 own writes over 400 keys (so most
// are overwritten, and replies carry gaps), all durable. One iteration is
// the whole catch-up.
//
//	go test -run '^$' -bench DurableServe -benchtime 20x ./mesh/
func BenchmarkDurableServe(b *testing.B) {
	n := noSyncNode(b)
	defer n.Close()
	ctx := context.Background()
	inflight := make([]*Pending, 0, 20_000)
	for i := range 20_000 {
		p, err := n.UpdateAsync(ctx, set("k"+strconv.Itoa(i%400), strconv.Itoa(i)))
		if err != nil {
			b.Fatal(err)
		}
		inflight = append(inflight, p)
	}
	for _, p := range inflight {
		if err := p.Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	want := n.durable.Version()
	b.ReportAllocs()
	b.ResetTimer()
	var sent, replies int
	for range b.N {
		v := VersionVector{}
		for !v.Covers(want) {
			cs, _, err := n.durable.ChangesSince(v, 64<<10)
			if err != nil || len(cs) == 0 {
				b.Fatalf("reply to %v: %d changes, %v", v, len(cs), err)
			}
			for _, c := range cs {
				v[c.Replica] = max(v[c.Replica], c.End)
				sent += len(c.Data)
			}
			replies++
		}
	}
	b.ReportMetric(float64(sent)/float64(b.N), "bytes/catchup")
	b.ReportMetric(float64(replies)/float64(b.N), "replies/catchup")
}

// BenchmarkDurableApplyRemote measures a durable node applying remote
// changes one Apply at a time and queueing them for the store (NoSync:
// the figure is the document's and the wrapper's work, not the disk's).
// One iteration is one change.
//
//	go test -run '^$' -bench DurableApplyRemote -benchtime 20000x ./mesh/
func BenchmarkDurableApplyRemote(b *testing.B) {
	src := remoteDoc(b, 99, clock.System())
	cs := make([]Change, b.N)
	for i := range cs {
		c, err := src.Update(set("k"+strconv.Itoa(i%400), strconv.Itoa(i)))
		if err != nil {
			b.Fatal(err)
		}
		cs[i] = meshChange(c)
	}
	n := noSyncNode(b)
	defer n.Close()
	n.mu.Lock()
	defer n.mu.Unlock()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range cs {
		if _, err := n.durable.Apply(cs[i : i+1]); err != nil {
			b.Fatal(err)
		}
	}
}
