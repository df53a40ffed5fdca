package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
)

// benchChangeBytes is the size of one benchmark change: a small JSON-ish
// update as crdt encodes it (one set of a short string at a short path).
const benchChangeBytes = 96

// BenchmarkDurableAppend measures acknowledged, fsynced appends: writers
// goroutines each Write one change and wait for its Ack, like concurrent
// Node.Update calls. Group commit shares each fsync among the writers
// waiting at that moment.
func BenchmarkDurableAppend(b *testing.B) {
	for _, writers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			benchAppend(b, writers, 1, nil)
		})
	}
	b.Run("writers=8/nosync", func(b *testing.B) { benchAppend(b, 8, 1, func(c *Config) { c.NoSync = true }) })
	b.Run("writers=8/nowait", func(b *testing.B) { benchAppend(b, 8, 1, func(c *Config) { c.CommitWait = -1 }) })
	for _, inflight := range []int{16, 256} {
		b.Run(fmt.Sprintf("writers=8/inflight=%d", inflight), func(b *testing.B) {
			benchAppend(b, 8, inflight, nil)
		})
	}
}

// benchAppend runs writers goroutines; each keeps up to inflight Writes
// outstanding and waits for the oldest Ack before issuing another. With
// inflight 1 a writer is a synchronous Node.Update caller; more stands for
// many concurrent callers (or an asynchronous acknowledgement).
func benchAppend(b *testing.B, writers, inflight int, tune func(*Config)) {
	c := testConfig(b.TempDir())
	c.NoSync = false
	if tune != nil {
		tune(&c)
	}
	s := openDisk(b, c)
	defer closeStore(b, s)
	data := make([]byte, benchChangeBytes)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		n := b.N / writers
		if w < b.N%writers {
			n++
		}
		wg.Go(func() {
			r := clock.ReplicaID(w + 1)
			ctx := context.Background()
			acks := make([]*Ack, 0, inflight)
			for i := range uint64(n) {
				if len(acks) == inflight {
					if err := acks[0].Wait(ctx); err != nil {
						b.Error(err)
						return
					}
					acks = acks[1:]
				}
				ch := Change{Replica: r, Start: i + 1, End: i + 1, Data: data}
				a, err := s.Write(ctx, Batch{Changes: []Change{ch}, Clock: clock.Timestamp{Wall: int64(i + 1), Replica: r}})
				if err != nil {
					b.Error(err)
					return
				}
				acks = append(acks, a)
			}
			for _, a := range acks {
				if err := a.Wait(ctx); err != nil {
					b.Error(err)
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	st := s.Stats()
	b.ReportMetric(float64(b.N)/el.Seconds(), "updates/s")
	if st.Commits > 0 {
		b.ReportMetric(float64(st.Writes)/float64(st.Commits), "writes/commit")
	}
}

// BenchmarkFileSync is the disk's floor: append 96 bytes to a file and
// fsync it. One bbolt commit costs two syncs (pages, then meta).
func BenchmarkFileSync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "sync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	data := make([]byte, benchChangeBytes)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Write(data); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// crdtSnapshot1MBytes is the size of crdt.EncodeSnapshot for a document of
// 1,000,000 map keys ("k0000000".."k0999999", small int values, written by
// 100 updates of 10,000 keys), measured on 2026-11-25: the snapshot is
// DEFLATE-compressed, so it is small.
const crdtSnapshot1MBytes = 2_243_299

// BenchmarkRestart measures the store's part of a restart: OpenDisk (the
// read-only check of every record, then the read-write open) and Load of a
// snapshot of the given size plus a 10,000-change log read back with
// Changes. The snapshot is an opaque blob of pseudo-random bytes (no
// compression helps the store); "crdt1M" has the size of a real 1M-key crdt
// snapshot, "64MiB" stands for a document whose values do not compress.
func BenchmarkRestart(b *testing.B) {
	for _, tc := range []struct {
		name string
		size int
	}{{"crdt1M", crdtSnapshot1MBytes}, {"64MiB", 64 << 20}} {
		b.Run(tc.name, func(b *testing.B) {
			c := testConfig(b.TempDir())
			c.ChunkBytes = DefaultChunkBytes
			s := openDisk(b, c)
			blob := make([]byte, tc.size)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := 0; i+8 <= len(blob); i += 8 {
				binary.LittleEndian.PutUint64(blob[i:], rng.Uint64())
			}
			if err := s.Compact(context.Background(), Snapshot{Data: blob, Version: VersionVector{1: 1_000_000}, Floor: VersionVector{1: 1_000_000}}); err != nil {
				b.Fatal(err)
			}
			var cs []Change
			for i := uint64(1); i <= 10_000; i++ {
				cs = append(cs, Change{Replica: 1, Start: 1_000_000 + i, End: 1_000_000 + i, Data: make([]byte, benchChangeBytes)})
			}
			mustWrite(b, s, Batch{Changes: cs})
			closeStore(b, s)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				d := restart(b, c)
				closeStore(b, d)
			}
			b.ReportMetric(float64(tc.size)/1e6, "snapshotMB")
		})
	}
}

// restart opens the store, loads it and reads the whole log, as a Node would.
func restart(b *testing.B, c Config) *Disk {
	d := openDisk(b, c)
	st, err := d.Load(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	if got := allChanges(b, d, st.Snapshot.Version, 1<<20); len(got) != 10_000 {
		b.Fatalf("%d changes", len(got))
	}
	return d
}
