package crdt

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
)

// The workloads of ../shared/bench/crdt/bench.mjs, through the full path:
// draft recipe -> patches -> ops -> apply (and encode/decode where bytes
// cross between replicas).

const (
	benchN1   = 100_000
	benchN2   = 50_000
	benchN3   = 100_000
	benchN4   = 10_000
	benchKeys = 1000
)

// mulberry32 is bench.mjs's PRNG, so key and position choices are the same.
type mulberry32 uint32

func (m *mulberry32) next() float64 {
	*m += 0x6d2b79f5
	t := uint32(*m)
	t = (t ^ (t >> 15)) * (t | 1)
	t ^= t + (t^(t>>7))*(t|61)
	return float64(t^(t>>14)) / 4294967296
}

func benchDoc(b *testing.B, id clock.ReplicaID, st *Strategies) *Doc {
	b.Helper()
	clk, err := clock.New(clock.Config{Replica: id, Physical: clock.NewManual(1_764_000_000_000), MaxDrift: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig(id, clk)
	cfg.Strategies = st
	d, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

var benchKeyNames = func() []string {
	ks := make([]string, benchKeys)
	for i := range ks {
		ks[i] = fmt.Sprintf("k%d", i)
	}
	return ks
}()

func mustUpdate(b *testing.B, d *Doc, f func(*draft.Draft) error) {
	if _, err := d.Update(f); err != nil {
		b.Fatal(err)
	}
}

// W1: 100,000 single-key writes on 1,000 keys, each its own change.
func BenchmarkW1MapSet(b *testing.B) {
	b.ReportAllocs()
	var d *Doc
	var elapsed, cpu time.Duration
	for b.Loop() {
		d = benchDoc(b, 1, nil)
		mustUpdate(b, d, func(x *draft.Draft) error { return x.Set(draft.Path{draft.Key("m")}, draft.EmptyMap()) })
		start, c0 := time.Now(), cpuTime()
		for i := range benchN1 {
			p := draft.Path{draft.Key("m"), draft.Key(benchKeyNames[i%benchKeys])}
			v := draft.Int(int64(i))
			mustUpdate(b, d, func(x *draft.Draft) error { return x.Set(p, v) })
		}
		elapsed += time.Since(start)
		cpu += cpuTime() - c0
	}
	b.ReportMetric(float64(benchN1)*float64(b.N)/elapsed.Seconds(), "writes/s")
	b.ReportMetric(float64(benchN1)*float64(b.N)/cpu.Seconds(), "writes/cpu-s")
	b.ReportMetric(float64(len(EncodeSnapshot(d.Snapshot()))), "snapshot-B")
}

// W2: two replicas write 50,000 keys each concurrently, then exchange what
// the other lacks (ChangesSince its version vector, encoded, decoded) and
// merge.
func BenchmarkW2ConcurrentMerge(b *testing.B) {
	benchW2(b, func(da, db *Doc) int { return w2Exchange(b, da, db, nil) })
}

// w2Exchange is W2's merge: each replica's ChangesSince the other's
// version, encoded, then both decoded, then each applied to the other. It
// returns the bytes exchanged. between, if not nil, runs after the encoding
// and after the decoding (BenchmarkW2MergePhases times the phases).
func w2Exchange(b *testing.B, da, db *Doc, between func()) int {
	ua := EncodeChanges(da.ChangesSince(db.Version(), 0))
	ub := EncodeChanges(db.ChangesSince(da.Version(), 0))
	if between != nil {
		between()
	}
	ca, err := DecodeChanges(ua)
	if err != nil {
		b.Fatal(err)
	}
	cb, err := DecodeChanges(ub)
	if err != nil {
		b.Fatal(err)
	}
	if between != nil {
		between()
	}
	if _, err := db.Apply(ca...); err != nil {
		b.Fatal(err)
	}
	if _, err := da.Apply(cb...); err != nil {
		b.Fatal(err)
	}
	return len(ua) + len(ub)
}

// W2 by state transfer: the same replicas exchange snapshots (encoded,
// decoded) and merge them, instead of the 100,000 changes. This is not the
// peers' W2 (Yjs and Loro exchange their op histories): it is what the
// join costs when the history is not wanted (a merged snapshot does not
// feed the op log).
func BenchmarkW2SnapshotMerge(b *testing.B) {
	benchW2(b, func(da, db *Doc) int {
		ua, ub := EncodeSnapshot(da.Snapshot()), EncodeSnapshot(db.Snapshot())
		sa, err := DecodeSnapshot(ua)
		if err != nil {
			b.Fatal(err)
		}
		sb, err := DecodeSnapshot(ub)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.MergeSnapshot(sa); err != nil {
			b.Fatal(err)
		}
		if _, err := da.MergeSnapshot(sb); err != nil {
			b.Fatal(err)
		}
		return len(ua) + len(ub)
	})
}

// benchW2 times exchange (which returns the bytes exchanged) on fresh W2
// replicas each iteration and checks that they converged.
func benchW2(b *testing.B, exchange func(da, db *Doc) int) {
	b.ReportAllocs()
	var merge, cpu time.Duration
	var exchanged int
	for b.Loop() {
		b.StopTimer()
		da, db := w2Replicas(b)
		b.StartTimer()
		start, c0 := time.Now(), cpuTime()
		exchanged = exchange(da, db)
		merge += time.Since(start)
		cpu += cpuTime() - c0
		b.StopTimer()
		if !da.State().Equal(db.State()) {
			b.Fatal("W2 did not converge")
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(merge.Microseconds())/1000/float64(b.N), "merge-ms")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "merge-cpu-ms")
	b.ReportMetric(float64(exchanged), "exchanged-B")
}

// w2Replicas returns W2's two replicas after their concurrent writes, with
// the setup's garbage collected (it is not the merge's).
func w2Replicas(b *testing.B) (da, db *Doc) {
	da, db = benchDoc(b, 1, nil), benchDoc(b, 2, nil)
	for _, d := range []*Doc{da, db} {
		mustUpdate(b, d, func(x *draft.Draft) error { return x.Set(draft.Path{draft.Key("m")}, draft.EmptyMap()) })
	}
	ra, rb := mulberry32(1), mulberry32(2)
	for i := range benchN2 {
		p := draft.Path{draft.Key("m"), draft.Key(benchKeyNames[int(ra.next()*benchKeys)])}
		mustUpdate(b, da, func(x *draft.Draft) error { return x.Set(p, draft.Int(int64(i))) })
	}
	for i := range benchN2 {
		p := draft.Path{draft.Key("m"), draft.Key(benchKeyNames[int(rb.next()*benchKeys)])}
		mustUpdate(b, db, func(x *draft.Draft) error { return x.Set(p, draft.Int(1e6+int64(i))) })
	}
	runtime.GC()
	return da, db
}

// W3: 100,000 counter increments, each its own change.
func BenchmarkW3CounterInc(b *testing.B) {
	b.ReportAllocs()
	st := NewStrategies().MustSet("/c", Count())
	var elapsed, cpu time.Duration
	var gcs uint32
	for b.Loop() {
		d := benchDoc(b, 1, st)
		p := draft.Path{draft.Key("c")}
		mustUpdate(b, d, func(x *draft.Draft) error { return x.Set(p, draft.Int(0)) })
		one := draft.Int(1)
		g0 := gcCycles()
		start, c0 := time.Now(), cpuTime()
		for range benchN3 {
			mustUpdate(b, d, func(x *draft.Draft) error { return x.Increment(p, one) })
		}
		elapsed += time.Since(start)
		cpu += cpuTime() - c0
		gcs += gcCycles() - g0
		if v, _ := d.State().Get("c"); !v.Equal(draft.Int(benchN3)) {
			b.Fatalf("counter %v", v)
		}
	}
	b.ReportMetric(float64(benchN3)*float64(b.N)/elapsed.Seconds(), "incs/s")
	b.ReportMetric(float64(benchN3)*float64(b.N)/cpu.Seconds(), "incs/cpu-s")
	b.ReportMetric(float64(gcs)/float64(b.N), "gc-cycles/op")
}

// gcCycles returns the number of completed GC cycles (a diagnostic: how
// often a workload's garbage, against the heap it retains, runs the GC).
func gcCycles() uint32 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.NumGC
}

// The crdt part of W1 and W3 alone: commitLocal fed fixed patches (what
// draft's produce hands over for W1's writes and W3's increments), without
// running the produce. A cost probe for the local path (patch to op,
// register, materialised-state bookkeeping, change block, op log); the
// state it is given does not follow the registers, so nothing reads it.
func BenchmarkLocalCommit(b *testing.B) {
	b.Run("W1", func(b *testing.B) {
		// Two rounds of patches, so that every write changes its key's value.
		ps := make([][]draft.Patch, 2*benchKeys)
		for k := range ps {
			p := draft.Path{draft.Key("m"), draft.Key(benchKeyNames[k%benchKeys])}
			ps[k] = []draft.Patch{{Op: draft.OpReplace, Path: p, Value: draft.Int(int64(k))}}
		}
		benchLocalCommit(b, nil, func(x *draft.Draft) error { return x.Set(draft.Path{draft.Key("m")}, draft.EmptyMap()) },
			func(i int) []draft.Patch { return ps[i%len(ps)] }, benchN1, "writes")
	})
	b.Run("W3", func(b *testing.B) {
		c := draft.Path{draft.Key("c")}
		ps := []draft.Patch{{Op: draft.OpReplace, Path: c, Value: draft.Int(1), Delta: draft.Int(1)}}
		benchLocalCommit(b, NewStrategies().MustSet("/c", Count()), func(x *draft.Draft) error { return x.Set(c, draft.Int(0)) },
			func(int) []draft.Patch { return ps }, benchN3, "incs")
	})
}

func benchLocalCommit(b *testing.B, st *Strategies, setup func(*draft.Draft) error, patches func(i int) []draft.Patch, n int, unit string) {
	b.ReportAllocs()
	var elapsed, cpu time.Duration
	for b.Loop() {
		d := benchDoc(b, 1, st)
		mustUpdate(b, d, setup)
		state := d.State()
		start, c0 := time.Now(), cpuTime()
		for i := range n {
			if _, err := d.commitLocal(state, patches(i)); err != nil {
				b.Fatal(err)
			}
		}
		elapsed += time.Since(start)
		cpu += cpuTime() - c0
	}
	b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), unit+"/s")
	b.ReportMetric(float64(n)*float64(b.N)/cpu.Seconds(), unit+"/cpu-s")
}

// W4: 10,000 inserts at random list positions, each its own change, then
// the encoded size of the document.
func BenchmarkW4ListInsert(b *testing.B) {
	b.ReportAllocs()
	var elapsed, cpu time.Duration
	var size int
	for b.Loop() {
		d := benchDoc(b, 1, nil)
		lp := draft.Path{draft.Key("l")}
		mustUpdate(b, d, func(x *draft.Draft) error { return x.Set(lp, draft.EmptyList()) })
		r := mulberry32(4)
		start, c0 := time.Now(), cpuTime()
		for i := range benchN4 {
			pos := int(r.next() * float64(i+1))
			p := draft.Path{draft.Key("l"), draft.Index(pos)}
			v := draft.Int(int64(i))
			mustUpdate(b, d, func(x *draft.Draft) error { return x.Insert(p, v) })
		}
		elapsed += time.Since(start)
		cpu += cpuTime() - c0
		size = len(EncodeSnapshot(d.Snapshot()))
	}
	b.ReportMetric(float64(benchN4)*float64(b.N)/elapsed.Seconds(), "inserts/s")
	b.ReportMetric(float64(benchN4)*float64(b.N)/cpu.Seconds(), "inserts/cpu-s")
	b.ReportMetric(float64(size), "snapshot-B")
}

// W1 without draft: W1's 100,000 changes applied one Apply call each on a
// second replica (the crdt's own cost per write: readiness, clock, register,
// visible patch, draft.Apply of that patch).
func BenchmarkW1RemoteApply(b *testing.B) {
	b.ReportAllocs()
	src := benchDoc(b, 1, nil)
	mustUpdate(b, src, func(x *draft.Draft) error { return x.Set(draft.Path{draft.Key("m")}, draft.EmptyMap()) })
	for i := range benchN1 {
		p := draft.Path{draft.Key("m"), draft.Key(benchKeyNames[i%benchKeys])}
		mustUpdate(b, src, func(x *draft.Draft) error { return x.Set(p, draft.Int(int64(i))) })
	}
	cs := src.LoggedSince(nil) // every change: ChangesSince would elide the overwritten ones
	var elapsed, cpu time.Duration
	for b.Loop() {
		d := benchDoc(b, 2, nil)
		start, c0 := time.Now(), cpuTime()
		for _, c := range cs {
			if _, err := d.Apply(c); err != nil {
				b.Fatal(err)
			}
		}
		elapsed += time.Since(start)
		cpu += cpuTime() - c0
	}
	b.ReportMetric(float64(len(cs))*float64(b.N)/elapsed.Seconds(), "writes/s")
	b.ReportMetric(float64(len(cs))*float64(b.N)/cpu.Seconds(), "writes/cpu-s")
}

// Encoding and decoding of W2's 50,000-change batch (one replica's side).
func BenchmarkW2Codec(b *testing.B) {
	d := benchDoc(b, 1, nil)
	mustUpdate(b, d, func(x *draft.Draft) error { return x.Set(draft.Path{draft.Key("m")}, draft.EmptyMap()) })
	r := mulberry32(1)
	for i := range benchN2 {
		p := draft.Path{draft.Key("m"), draft.Key(benchKeyNames[int(r.next()*benchKeys)])}
		mustUpdate(b, d, func(x *draft.Draft) error { return x.Set(p, draft.Int(int64(i))) })
	}
	cs := d.LoggedSince(nil) // all 50,000: a reply (ChangesSince) elides the overwritten ones
	enc := EncodeChanges(cs)
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			EncodeChanges(cs)
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			if _, err := DecodeChanges(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The per-change cost of gossip on a receiving replica: decode one encoded
// single-write change (string values, on 100 or 1,000 keys) and apply it
// with its own Apply call, as mesh does for each change without a backlog.
func BenchmarkRemoteChange(b *testing.B) {
	for _, keys := range []int{100, 1000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) { benchRemoteChange(b, keys) })
	}
}

// remoteWrites returns 10,000 single-write changes of one replica, each
// encoded on its own: string values written round-robin on keys keys.
func remoteWrites(b *testing.B, keys int) [][]byte {
	src := benchDoc(b, 1, nil)
	enc := make([][]byte, 10_000)
	for i := range enc {
		p := draft.Path{draft.Key(benchKeyNames[i%keys])}
		v := draft.String(fmt.Sprint(i))
		c, err := src.Update(func(x *draft.Draft) error { return x.Set(p, v) })
		if err != nil {
			b.Fatal(err)
		}
		enc[i] = EncodeChange(c)
	}
	return enc
}

func benchRemoteChange(b *testing.B, keys int) {
	applyEach(b, keys, func(dst *Doc, msg []byte) error {
		c, err := DecodeChange(msg)
		if err != nil {
			return err
		}
		_, err = dst.Apply(c)
		return err
	})
}

// applyEach times apply of remoteWrites' changes one at a time, each into
// the same replica, starting a fresh one (untimed) when they run out.
func applyEach(b *testing.B, keys int, apply func(dst *Doc, msg []byte) error) {
	enc := remoteWrites(b, keys)
	b.ReportAllocs()
	dst := benchDoc(b, 2, nil)
	i := 0
	for b.Loop() {
		if i == len(enc) {
			b.StopTimer()
			dst, i = benchDoc(b, 2, nil), 0
			b.StartTimer()
		}
		if err := apply(dst, enc[i]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// ChangesSince from a peer that lacks one change, on a log of 100 authors
// with 100 changes each: the anti-entropy reply's cost when peers are
// nearly in step (the simulator's common case).
func BenchmarkChangesSinceNearlyInStep(b *testing.B) {
	l := newMemLog()
	vv := VersionVector{}
	for s := uint64(1); s <= 100; s++ {
		for r := clock.ReplicaID(1); r <= 100; r++ {
			l.append(&Change{Replica: r, StartSeq: s, Ops: make([]Op, 1)})
			vv[r] = s
		}
	}
	vv[50]--
	b.ReportAllocs()
	for b.Loop() {
		if got := l.since(vv, 0); len(got) != 1 {
			b.Fatalf("%d changes", len(got))
		}
	}
}
