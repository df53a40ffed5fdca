package crdt

import (
	"fmt"
	"testing"
	"time"
)

// W2 over the wire path: each replica's op log serves what the other
// lacks as the bytes it keeps (EncodedChangesSince, the messages
// concatenated into one buffer, as a transport would carry them), and the
// other applies the bytes (ApplyEncoded), decoding into reused room. The
// same replicas and convergence check as BenchmarkW2ConcurrentMerge; this
// is the exchange mesh makes (each change its own EncodeChange message),
// and the Go analogue of the peers' W2 (Yjs and Loro encode what the other
// lacks as bytes and apply the bytes).
func BenchmarkW2WireMerge(b *testing.B) {
	benchW2(b, func(da, db *Doc) int { return w2WireExchange(b, da, db, (*Doc).ApplyEncoded) })
}

// w2WireExchange serves each side's changes that the other lacks as one
// buffer and applies it to the other with apply.
func w2WireExchange(b *testing.B, da, db *Doc, apply func(*Doc, ...[]byte) (Result, error)) int {
	ua := wireSince(b, da, db.Version())
	ub := wireSince(b, db, da.Version())
	if _, err := apply(db, ua); err != nil {
		b.Fatal(err)
	}
	if _, err := apply(da, ub); err != nil {
		b.Fatal(err)
	}
	return len(ua) + len(ub)
}

// BenchmarkW2WireMerge with the buffers handed over (ApplyEncodedOwned):
// each received buffer is the other's log's memory from then on, so
// applying copies no message and touches no fresh memory for the log.
// (A transport that receives each exchange into a buffer of its own can
// do this; mesh's anti-entropy, through one reused buffer, cannot.)
func BenchmarkW2WireMergeOwned(b *testing.B) {
	benchW2(b, func(da, db *Doc) int { return w2WireExchange(b, da, db, (*Doc).ApplyEncodedOwned) })
}

// W2 over the wire path the way mesh's anti-entropy carries it: each side
// sends what the other lacks in pieces of about 64 KiB (AppendEncodedSince
// with a byte limit, into one reused buffer), the other applying each
// piece before the next is asked for against its new version. The same
// bytes as BenchmarkW2WireMerge, without a fresh buffer of megabytes per
// side (whose first touch, on this VM, is most of a cold run's cost).
func BenchmarkW2WireMergeChunked(b *testing.B) {
	benchW2(b, func(da, db *Doc) int {
		var buf []byte
		n := 0
		for _, p := range [][2]*Doc{{da, db}, {db, da}} {
			from, to := p[0], p[1]
			for {
				var err error
				buf, err = from.AppendEncodedSince(buf[:0], to.Version(), 64<<10)
				if err != nil {
					b.Fatal(err)
				}
				if len(buf) == 0 {
					break
				}
				n += len(buf)
				if _, err := to.ApplyEncoded(buf); err != nil {
					b.Fatal(err)
				}
			}
		}
		return n
	})
}

// wireSince returns d's changes that vv lacks as one buffer of
// EncodeChange messages back to back.
func wireSince(b *testing.B, d *Doc, vv VersionVector) []byte {
	out, err := d.AppendEncodedSince(nil, vv, 0)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkRemoteChange by the wire path: each encoded single-write change
// applied from its bytes with its own ApplyEncoded call, as mesh now does
// for each change without a backlog.
func BenchmarkRemoteChangeEncoded(b *testing.B) {
	for _, keys := range []int{100, 1000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) { benchRemoteChangeEncoded(b, keys) })
	}
}

func benchRemoteChangeEncoded(b *testing.B, keys int) {
	applyEach(b, keys, func(dst *Doc, msg []byte) error {
		_, err := dst.ApplyEncoded(msg)
		return err
	})
}

// BenchmarkW2WireMerge in two phases: serving both sides' bytes, and
// applying them, with the minor page faults (first touches of fresh
// memory) and GC cycles of each.
func BenchmarkW2WirePhases(b *testing.B) { benchW2WirePhases(b, (*Doc).ApplyEncoded) }

// BenchmarkW2WirePhases with the buffers handed over (ApplyEncodedOwned).
func BenchmarkW2WirePhasesOwned(b *testing.B) { benchW2WirePhases(b, (*Doc).ApplyEncodedOwned) }

func benchW2WirePhases(b *testing.B, applyFn func(*Doc, ...[]byte) (Result, error)) {
	b.ReportAllocs()
	var serve, apply time.Duration
	var faultsServe, faultsApply int64
	var gcs uint32
	for b.Loop() {
		b.StopTimer()
		da, db := w2Replicas(b)
		b.StartTimer()
		g0, f0, t0 := gcCycles(), minorFaults(), time.Now()
		ua := wireSince(b, da, db.Version())
		ub := wireSince(b, db, da.Version())
		f1, t1 := minorFaults(), time.Now()
		if _, err := applyFn(db, ua); err != nil {
			b.Fatal(err)
		}
		if _, err := applyFn(da, ub); err != nil {
			b.Fatal(err)
		}
		serve, apply = serve+t1.Sub(t0), apply+time.Since(t1)
		faultsServe, faultsApply = faultsServe+f1-f0, faultsApply+minorFaults()-f1
		gcs += gcCycles() - g0
		b.StopTimer()
		if !da.State().Equal(db.State()) {
			b.Fatal("W2 did not converge")
		}
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(serve.Microseconds())/1000/n, "serve-ms")
	b.ReportMetric(float64(apply.Microseconds())/1000/n, "apply-ms")
	b.ReportMetric(float64(faultsServe)/n, "faults-serve/op")
	b.ReportMetric(float64(faultsApply)/n, "faults-apply/op")
	b.ReportMetric(float64(gcs)/n, "gc-cycles/op")
}

// Serving a received (encoded) log in pieces of about 64 KiB, as mesh's
// anti-entropy asks a replica for what it relays: db, having applied
// da's 50,000 changes from their bytes, serves them to a peer that has
// none of them, piece by piece (each piece asked for against the version
// the previous one reached). Measures the op log's walk of its arena.
func BenchmarkServeEncodedChunked(b *testing.B) {
	da, db := w2Replicas(b)
	if _, err := db.ApplyEncoded(wireSince(b, da, db.Version())); err != nil {
		b.Fatal(err)
	}
	all, err := db.EncodedChangesSince(VersionVector{2: db.Version()[2]}, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		have := VersionVector{2: db.Version()[2]}
		n := 0
		for {
			cs, err := db.EncodedChangesSince(have, 64<<10)
			if err != nil {
				b.Fatal(err)
			}
			if len(cs) == 0 {
				break
			}
			n += len(cs)
			have[1] = cs[len(cs)-1].EndSeq
		}
		if n != len(all) {
			b.Fatalf("served %d changes, want %d", n, len(all))
		}
	}
}
