package crdt

import (
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
)

// The apply half of W2's merge alone: each replica applies the other's
// 50,000 changes, already decoded (BenchmarkW2Codec measures the decoding).
// A cost probe for the remote path; BenchmarkW2ConcurrentMerge is the figure
// of record.
func BenchmarkW2Apply(b *testing.B) {
	b.ReportAllocs()
	var sum, least time.Duration
	for b.Loop() {
		b.StopTimer()
		da, db := w2Replicas(b)
		ca, err := DecodeChanges(EncodeChanges(da.ChangesSince(db.Version(), 0)))
		if err != nil {
			b.Fatal(err)
		}
		cb, err := DecodeChanges(EncodeChanges(db.ChangesSince(da.Version(), 0)))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c0 := processCPU()
		if _, err := db.Apply(ca...); err != nil {
			b.Fatal(err)
		}
		if _, err := da.Apply(cb...); err != nil {
			b.Fatal(err)
		}
		c := processCPU() - c0
		sum += c
		if least == 0 || c < least {
			least = c
		}
		b.StopTimer()
		if !da.State().Equal(db.State()) {
			b.Fatal("W2 did not converge")
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(sum.Microseconds())/1000/float64(b.N), "cpu-ms")
	b.ReportMetric(float64(least.Microseconds())/1000, "min-cpu-ms")
}

// W2's merge split into its phases (ChangesSince and encode, decode, apply;
// both directions each), with the GC cycles the merge ran: where
// BenchmarkW2ConcurrentMerge's time goes with both replicas' heaps live.
func BenchmarkW2MergePhases(b *testing.B) {
	b.ReportAllocs()
	var enc, dec, app time.Duration
	var gcs uint32
	var faultsEnc, faultsDec, faultsApp int64
	for b.Loop() {
		b.StopTimer()
		da, db := w2Replicas(b)
		b.StartTimer()
		g0 := gcCycles()
		f0 := minorFaults()
		t0 := time.Now()
		var ts [2]time.Time
		var fs [2]int64
		phase := 0
		w2Exchange(b, da, db, func() {
			ts[phase], fs[phase] = time.Now(), minorFaults()
			phase++
		})
		t1, t2, f1, f2 := ts[0], ts[1], fs[0], fs[1]
		t3 := time.Now()
		faultsEnc += f1 - f0
		faultsDec += f2 - f1
		faultsApp += minorFaults() - f2
		gcs += gcCycles() - g0
		enc, dec, app = enc+t1.Sub(t0), dec+t2.Sub(t1), app+t3.Sub(t2)
		b.StopTimer()
		if !da.State().Equal(db.State()) {
			b.Fatal("W2 did not converge")
		}
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(enc.Microseconds())/1000/n, "encode-ms")
	b.ReportMetric(float64(dec.Microseconds())/1000/n, "decode-ms")
	b.ReportMetric(float64(app.Microseconds())/1000/n, "apply-ms")
	b.ReportMetric(float64(gcs)/n, "gc-cycles/op")
	b.ReportMetric(float64(faultsEnc)/n, "faults-enc/op")
	b.ReportMetric(float64(faultsDec)/n, "faults-dec/op")
	b.ReportMetric(float64(faultsApp)/n, "faults-apply/op")
}

// Decoding one side of W2 (50,000 one-write changes), timed by process CPU
// (GC included) with the minimum over iterations reported too: on a shared
// machine the minimum is what compares between builds.
func BenchmarkW2DecodeCPU(b *testing.B) {
	enc := EncodeChanges(w2Side(b))
	benchCPU(b, func() {
		if _, err := DecodeChanges(enc); err != nil {
			b.Fatal(err)
		}
	})
}

// Encoding one side of W2, timed as BenchmarkW2DecodeCPU.
func BenchmarkW2EncodeCPU(b *testing.B) {
	cs := w2Side(b)
	benchCPU(b, func() { EncodeChanges(cs) })
}

// benchCPU runs f per iteration and reports its mean and least process CPU.
func benchCPU(b *testing.B, f func()) {
	b.ReportAllocs()
	var sum, least time.Duration
	for b.Loop() {
		c0 := processCPU()
		f()
		c := processCPU() - c0
		sum += c
		if least == 0 || c < least {
			least = c
		}
	}
	b.ReportMetric(float64(sum.Microseconds())/1000/float64(b.N), "cpu-ms")
	b.ReportMetric(float64(least.Microseconds())/1000, "min-cpu-ms")
}

// w2Side returns one W2 replica's 50,000 changes (BenchmarkW2Codec's).
func w2Side(b *testing.B) []*Change {
	d := benchDoc(b, 1, nil)
	mustUpdate(b, d, func(x *draft.Draft) error { return x.Set(draft.Path{draft.Key("m")}, draft.EmptyMap()) })
	r := mulberry32(1)
	for i := range benchN2 {
		p := draft.Path{draft.Key("m"), draft.Key(benchKeyNames[int(r.next()*benchKeys)])}
		mustUpdate(b, d, func(x *draft.Draft) error { return x.Set(p, draft.Int(int64(i))) })
	}
	return d.LoggedSince(nil) // all of them: a reply would elide most (gaps)
}

// Remote single changes applied one Apply call each while another author's
// change waits in the pending buffer (a gap before it never arrives): the
// per-call cost of walking the buffer, which the gossip path pays whenever
// anything is premature.
func BenchmarkRemoteChangeWithPending(b *testing.B) {
	src := benchDoc(b, 1, nil)
	cs := make([]*Change, 10_000)
	for i := range cs {
		p := draft.Path{draft.Key(benchKeyNames[i%benchKeys])}
		c, err := src.Update(func(x *draft.Draft) error { return x.Set(p, draft.Int(int64(i))) })
		if err != nil {
			b.Fatal(err)
		}
		cs[i] = c
	}
	gap := &Change{Replica: 3, StartSeq: 5, Timestamp: clock.Timestamp{Wall: cs[0].Timestamp.Wall, Replica: 3},
		Ops: []Op{{Kind: OpSet, Key: KeySeg("z"), Value: draft.Int(1)}}}
	fresh := func() *Doc {
		d := benchDoc(b, 2, nil)
		if res, err := d.Apply(gap); err != nil || res.Pending != 1 {
			b.Fatalf("gap change not buffered: %+v %v", res, err)
		}
		return d
	}
	b.ReportAllocs()
	dst, i := fresh(), 0
	for b.Loop() {
		if i == len(cs) {
			b.StopTimer()
			dst, i = fresh(), 0
			b.StartTimer()
		}
		if _, err := dst.Apply(cs[i]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
