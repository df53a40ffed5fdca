package crdt

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/syncmesh/syncmesh/clock"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/draft"
)

func TestCompactFloorReported(t *testing.T) {
	a := newReplica(t, 1, nil)
	b := newReplica(t, 2, nil)
	cs := a.writeInts(t, "/k", 5)
	b.apply(t, cs...)
	st := a.Compact(b.Version())
	if st.DroppedChanges != 5 || st.LogChanges != 0 || st.LogBytes != 0 {
		t.Fatalf("compact stats %+v, want 5 dropped, none left", st)
	}
	if f := a.Floor(); !f.Equal(VersionVector{1: 5}) {
		t.Fatalf("floor %v, want {1:5}", f)
	}
	a.update(t, set("/k", draft.Int(9)))
	tests := []struct {
		name   string
		reader VersionVector
		want   int // changes returned, or -1 for ErrCompacted
		floor  uint64
	}{
		{"empty reader", VersionVector{}, -1, 5},
		{"below floor", VersionVector{1: 3}, -1, 5},
		{"at floor", VersionVector{1: 5}, 1, 0},
		{"up to date", VersionVector{1: 6}, 0, 0},
		{"ahead", VersionVector{1: 9}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := a.ChangesSinceErr(tc.reader, 0)
			if tc.want < 0 {
				var ce *CompactedError
				if !errors.Is(err, ErrCompacted) || !errors.As(err, &ce) {
					t.Fatalf("err %v, want a CompactedError", err)
				}
				if ce.Replica != 1 || ce.Floor != tc.floor || ce.Have != tc.reader[1] {
					t.Fatalf("error %+v, want replica 1 floor %d have %d", ce, tc.floor, tc.reader[1])
				}
				if got != nil {
					t.Fatalf("changes %v returned with the error", got)
				}
				return
			}
			if err != nil || len(got) != tc.want {
				t.Fatalf("got %d changes, err %v; want %d", len(got), err, tc.want)
			}
		})
	}
}

// A merged snapshot advances the version vector without the log: readers
// below it must be told, not handed the changes after the gap.
func TestCompactFloorAfterSnapshotMerge(t *testing.T) {
	a := newReplica(t, 1, nil)
	b := newReplica(t, 2, nil)
	for i := range 4 {
		a.update(t, set("/k", draft.Int(int64(i))))
	}
	if _, err := b.MergeSnapshot(a.Snapshot()); err != nil {
		t.Fatal(err)
	}
	b.apply(t, a.update(t, set("/k", draft.Int(7))))
	if f := b.Floor(); !f.Equal(VersionVector{1: 4}) {
		t.Fatalf("floor %v, want {1:4}", f)
	}
	if _, err := b.ChangesSinceErr(VersionVector{1: 2}, 0); !errors.Is(err, ErrCompacted) {
		t.Fatalf("reader below the merged snapshot: err %v, want ErrCompacted", err)
	}
	got, err := b.ChangesSinceErr(VersionVector{1: 4}, 0)
	if err != nil || len(got) != 1 || got[0].StartSeq != 5 {
		t.Fatalf("reader at the snapshot: %v, %v", got, err)
	}
}

func TestCompactDropsEmptyRegisters(t *testing.T) {
	a := newReplica(t, 1, nil)
	a.update(t, set("/a", obj("x", draft.Int(1), "y", obj("z", draft.String("s")))))
	a.update(t, set("/b", draft.Int(2)))
	a.update(t, del("/a"))
	a.update(t, del("/b"))
	before := dump(a.Doc)
	json := a.json(t)
	snap := EncodeSnapshot(a.Snapshot())
	st := a.Compact(a.Version())
	if st.DroppedRegisters != 5 { // a, a/x, a/y, a/y/z, b
		t.Fatalf("dropped %d registers, want 5", st.DroppedRegisters)
	}
	if len(a.root.keys) != 0 {
		t.Fatalf("root keeps %d registers", len(a.root.keys))
	}
	if dump(a.Doc) != before || a.json(t) != json || !bytes.Equal(EncodeSnapshot(a.Snapshot()), snap) {
		t.Fatal("compaction changed the document")
	}
	// The key is usable again, locally and remotely.
	b := newReplica(t, 2, nil)
	if _, err := b.MergeSnapshot(a.Snapshot()); err != nil {
		t.Fatal(err)
	}
	b.apply(t, a.update(t, set("/a", obj("x", draft.Int(3)))))
	if got, want := b.json(t), `{"a":{"x":3}}`; got != want || a.json(t) != want {
		t.Fatalf("after reuse: a %s b %s, want %s", a.json(t), got, want)
	}
}

// compactRuns is the number of random histories; CRDT_PROP_RUNS raises it.
func TestPropertyCompaction(t *testing.T) {
	runs := propRuns(40)
	base := propSeed()
	for run := range runs {
		seed := base + uint64(run)
		if msg := runCompactHistory(t, seed); msg != "" {
			t.Fatalf("seed %d: %s (rerun: CRDT_SEED=%d go test -run TestPropertyCompaction -count=1 ./crdt/)", seed, msg, seed)
		}
	}
}

// frontierOf is the true causal-stability frontier of a set of replicas:
// the per-replica minimum of their version vectors.
func frontierOf(reps []*replica) VersionVector {
	f := reps[0].Version()
	for _, r := range reps[1:] {
		v := r.Version()
		for id, s := range f {
			if v[id] < s {
				f[id] = v[id]
			}
		}
	}
	return f
}

// pull brings r up to date with src by anti-entropy from r's version vector
// v (possibly stale): changes if src's log reaches, else src's snapshot.
func pull(r, src *replica, v VersionVector, maxBytes int) error {
	cs, err := src.ChangesSinceErr(v, maxBytes)
	if errors.Is(err, ErrCompacted) {
		sn, derr := DecodeSnapshot(EncodeSnapshot(src.Snapshot()))
		if derr != nil {
			return derr
		}
		_, err = r.MergeSnapshot(sn)
		return err
	}
	if err != nil {
		return err
	}
	_, err = r.Apply(cs...)
	return err
}

// gapFree checks that what src serves reader v has no silent gap: per
// replica, the changes start at or before v+1 and follow on, and reach src's
// version (no byte limit).
func gapFree(src *replica, v VersionVector) string {
	cs, err := src.ChangesSinceErr(v, 0)
	if errors.Is(err, ErrCompacted) {
		return ""
	}
	if err != nil {
		return err.Error()
	}
	reach := v.Clone()
	for _, c := range cs {
		if c.StartSeq > reach[c.Replica]+1 {
			return "silent gap: " + c.Replica.String() + " served from " + itoa(c.StartSeq) + " to a reader at " + itoa(reach[c.Replica])
		}
		reach[c.Replica] = max(reach[c.Replica], c.EndSeq())
	}
	for r, s := range src.vv {
		if reach[r] < s && !gapWaits(src, r, reach[r]) {
			return "changes served do not reach the source's version"
		}
	}
	return ""
}

// gapWaits reports whether src's log holds, for replica r, a gap received
// right after seq have, and at or after it one whose overwriting ops src
// has not applied yet (they wait in its pending buffer): src may serve r's
// changes only up to the first (which needs what lies past the other).
func gapWaits(src *replica, r clock.ReplicaID, have uint64) bool {
	a := src.log.authorOf(r)
	if a == nil {
		return false
	}
	first := true
	for k := range a.len() {
		h := a.header(k)
		if h.end <= have {
			continue
		}
		if first && h.elided == 0 {
			return false
		}
		first = false
		if h.elided > 0 && h.until > src.vv[r] {
			return true
		}
	}
	return false
}

func itoa(u uint64) string { return strconv.FormatUint(u, 10) }

func runCompactHistory(t *testing.T, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))
	st := propStrategies()
	reps := someReplicas(t, rng, st)
	nrep := len(reps)
	ref := newReplica(t, 50, st) // never compacted, receives every change
	var all []sentChange
	var frontiers []VersionVector // true frontiers seen so far (stale ones stay valid)
	olds := map[clockReplica][]VersionVector{}
	compactions, dropped, droppedRegs := 0, 0, 0
	steps := 40 + rng.IntN(60)
	for range steps {
		r := reps[rng.IntN(nrep)]
		switch k := rng.IntN(10); {
		case k < 5: // local update
			r.phys.Advance(time.Duration(rng.IntN(3)) * time.Millisecond)
			before := r.Version()
			c, err := r.Update(randomRecipe(rng))
			if errors.Is(err, ErrPath) {
				continue
			}
			if err != nil {
				return "update: " + err.Error()
			}
			if c != nil {
				all = append(all, sentChange{c, before})
			}
		case k < 7: // gossip: a random subset, any order, duplicates
			var batch []*Change
			for range rng.IntN(6) {
				if len(all) > 0 {
					batch = append(batch, all[rng.IntN(len(all))].c)
				}
			}
			if _, err := r.Apply(batch...); err != nil {
				return "apply: " + err.Error()
			}
		case k < 9: // anti-entropy against a possibly stale vector of ours
			src := reps[rng.IntN(nrep)]
			v := r.Version()
			if old := olds[r.Replica()]; len(old) > 0 && rng.IntN(2) == 0 {
				v = old[rng.IntN(len(old))]
			}
			if err := pull(r, src, v, rng.IntN(2000)); err != nil {
				return "anti-entropy: " + err.Error()
			}
			olds[r.Replica()] = append(olds[r.Replica()], r.Version())
		default: // compact one replica at a true (possibly older) frontier
			if rng.IntN(3) == 0 { // after a sync round, so the frontier moves
				for _, x := range reps {
					if err := pull(x, reps[rng.IntN(nrep)], x.Version(), 0); err != nil {
						return "sync round: " + err.Error()
					}
				}
			}
			frontiers = append(frontiers, frontierOf(reps))
			f := frontiers[rng.IntN(len(frontiers))]
			before, json := dump(r.Doc), r.json(t)
			cst := r.Compact(f)
			compactions++
			dropped += cst.DroppedChanges
			droppedRegs += cst.DroppedRegisters
			if dump(r.Doc) != before || r.json(t) != json {
				return "compaction changed replica " + r.Replica().String()
			}
		}
		if msg := consistency(r.Doc); msg != "" {
			return "replica " + r.Replica().String() + ": " + msg
		}
		for _, src := range reps {
			if msg := gapFree(src, reps[rng.IntN(nrep)].Version()); msg != "" {
				return msg
			}
		}
	}
	// Every change reaches the reference; replicas sync by anti-entropy
	// only (rounds of pulls from everyone), then get the gossip too.
	var cs []*Change
	for _, s := range all {
		cs = append(cs, s.c)
	}
	rng.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
	if _, err := ref.Apply(cs...); err != nil {
		return "reference apply: " + err.Error()
	}
	for round := 0; ; round++ {
		if round > 4*nrep {
			msg := "anti-entropy did not converge: reference " + fmt.Sprint(ref.vv)
			for _, r := range reps {
				msg += "; " + r.Replica().String() + " " + fmt.Sprint(r.vv) + " floor " + fmt.Sprint(r.Floor()) + " pending " + strconv.Itoa(r.PendingLen())
			}
			return msg
		}
		for _, r := range reps {
			for _, src := range reps {
				limit := rng.IntN(4000)
				if round >= 2*nrep {
					limit = 0 // byte limits alone can starve a dependency
				}
				if err := pull(r, src, r.Version(), limit); err != nil {
					return "final anti-entropy: " + err.Error()
				}
			}
		}
		done := true
		for _, r := range reps {
			done = done && r.vv.Equal(ref.vv)
		}
		if done {
			break
		}
	}
	want := dump(ref.Doc)
	for _, r := range reps {
		if _, err := r.Apply(cs...); err != nil {
			return "final gossip: " + err.Error()
		}
		if r.PendingLen() != 0 {
			return "replica " + r.Replica().String() + " keeps pending changes"
		}
		if msg := consistency(r.Doc); msg != "" {
			return "final: " + msg
		}
		if got := dump(r.Doc); got != want {
			return "replica " + r.Replica().String() + " diverges from the reference:\n--- want\n" + want + "\n--- got\n" + got
		}
	}
	// Compacted at the final frontier, every replica's snapshot is
	// byte-identical to the uncompacted reference's.
	wantSnap := EncodeSnapshot(ref.Snapshot())
	for _, r := range reps {
		r.Compact(frontierOf(reps))
		if n, _ := r.LogSize(); n != 0 {
			return "log not empty after compacting at the full frontier"
		}
		if !bytes.Equal(EncodeSnapshot(r.Snapshot()), wantSnap) {
			return "replica " + r.Replica().String() + ": snapshot bytes differ from the reference"
		}
	}
	if msg := noSilentLoss(reps[0].Doc, all); msg != "" {
		return msg
	}
	if testing.Verbose() {
		t.Logf("seed %d: %d steps, %d compactions dropped %d changes and %d registers", seed, steps, compactions, dropped, droppedRegs)
	}
	return ""
}

// Pending and quarantined changes lie above the version vector, so Compact
// leaves them alone; once released they apply, enter the log and are served
// to readers above the floor.
func TestCompactKeepsPendingAndQuarantined(t *testing.T) {
	const t0 = 1_700_000_000_000
	a, physA := newDriftBoundReplica(t, t0)
	b := newReplica(t, 2, nil)
	b.phys.Set(t0)
	var bs []*Change
	for i := range 4 {
		bs = append(bs, b.update(t, set("/b", draft.Int(int64(i)))))
	}
	if _, err := a.Apply(bs[0], bs[1], bs[3]); err != nil { // bs[3] waits for bs[2]
		t.Fatal(err)
	}
	c := newReplica(t, 3, nil)
	c.phys.Set(t0 + 10_000) // 10 s ahead: quarantined at a
	cc := c.update(t, set("/c", draft.Int(1)))
	if res, err := a.Apply(cc); err != nil || res.Quarantined != 1 {
		t.Fatalf("quarantine: %+v %v", res, err)
	}
	st := a.Compact(VersionVector{2: 2, 3: 1}) // clamped to a's version: {2: 2}
	if st.DroppedChanges != 2 || a.PendingLen() != 1 || len(a.Quarantined()) != 1 {
		t.Fatalf("stats %+v, pending %d, quarantined %d", st, a.PendingLen(), len(a.Quarantined()))
	}
	if f := a.Floor(); !f.Equal(VersionVector{2: 2}) {
		t.Fatalf("floor %v, want {2:2}", f)
	}
	if _, err := a.Apply(bs[2]); err != nil {
		t.Fatal(err)
	}
	physA.Set(t0 + 9_600)
	if res, err := a.RetryQuarantined(); err != nil || res.Applied != 1 {
		t.Fatalf("retry: %+v %v", res, err)
	}
	if got := mustJSON(t, a.State()); got != `{"b":3,"c":1}` {
		t.Fatalf("state %s", got)
	}
	cs, err := a.ChangesSinceErr(VersionVector{2: 2}, 0)
	if err != nil || len(cs) != 3 {
		t.Fatalf("reader at the floor: %d changes, err %v; want b's 3 and 4 and c's 1", len(cs), err)
	}
}

// BenchmarkCompact: compacting a document of 10,000 keys whose log holds
// 10,000 changes: the walk over the registers plus dropping the log, the
// work the mesh Node does under its lock once per CompactOps operations.
func BenchmarkCompact(b *testing.B) {
	b.ReportAllocs()
	const keys = 10_000
	src := newReplica(b, 1, nil)
	var cs []*Change
	for i := range keys {
		cs = append(cs, src.update(b, set("/k"+strconv.Itoa(i), draft.Int(int64(i)))))
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		d := newReplica(b, 2, nil)
		if _, err := d.Apply(cs...); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if st := d.Compact(d.Version()); st.DroppedChanges != keys {
			b.Fatalf("%+v", st)
		}
	}
}
