package crdt

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
)

// conflictDump lists the conflicts at every path of the state.
func conflictDump(d *Doc) string {
	var b bytes.Buffer
	var walk func(p draft.Path, v draft.Value)
	walk = func(p draft.Path, v draft.Value) {
		if len(p) > 0 {
			for _, c := range d.Conflicts(p) {
				js, _ := c.Value.MarshalJSON()
				fmt.Fprintf(&b, "%v: %s %v %v %v\n", p, js, c.Timestamp, c.ID, c.Winner)
			}
		}
		switch v.Kind() {
		case draft.MapKind:
			for k, x := range v.Range() {
				walk(append(p[:len(p):len(p)], draft.Key(k)), x)
			}
		case draft.ListKind:
			for i, x := range v.Items() {
				walk(append(p[:len(p):len(p)], draft.Index(i)), x)
			}
		}
	}
	walk(nil, d.State())
	return b.String()
}

func patchText(t testing.TB, ps []draft.Patch) string {
	var b bytes.Buffer
	for _, p := range ps {
		js, err := p.Value.MarshalJSON()
		if err != nil && p.Value.IsValid() {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %v %s\n", p.Op, p.Path, js)
	}
	return b.String()
}

// TestRestoreMatchesMerge: on random histories (maps, lists with moves and
// tombstones, counters, MultiValue and other strategies, concurrent writes),
// Restore and MergeSnapshot into an empty document (the bulk path) give
// what the general join gives: registers, version vector, state, conflicts,
// patches and the re-encoded snapshot.
func TestRestoreMatchesMerge(t *testing.T) {
	base := propSeed()
	for run := range propRuns(40) {
		seed := base + uint64(run)
		rng := rand.New(rand.NewPCG(seed, seed^0x51ed270b))
		st := propStrategies()
		reps := []*replica{newReplica(t, 1, st), newReplica(t, 2, st), newReplica(t, 3, st)}
		for range 20 + rng.IntN(60) {
			r := reps[rng.IntN(len(reps))]
			if rng.IntN(4) == 0 {
				o := reps[rng.IntN(len(reps))]
				if _, err := r.Apply(o.ChangesSince(r.Version(), 0)...); err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				continue
			}
			r.phys.Advance(time.Duration(rng.IntN(3)) * time.Millisecond)
			if _, err := r.Update(randomRecipe(rng)); err != nil && !errors.Is(err, ErrPath) {
				t.Fatalf("seed %d: update: %v", seed, err)
			}
		}
		for _, r := range reps {
			checkRestore(t, seed, st, r, rng)
		}
	}
}

// checkRestore compares Restore and MergeSnapshot into an empty document
// with the general join, for r's snapshot.
func checkRestore(t *testing.T, seed uint64, st *Strategies, r *replica, rng *rand.Rand) {
	t.Helper()
	t.Setenv("CRDT_TRACE", "1") // dump shows live counts and shown flags too
	data := EncodeSnapshot(r.Snapshot())
	sn, err := DecodeSnapshot(data)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	want := newReplica(t, 9, st)
	wantPatches := patchText(t, want.Doc.mergeByJoin(sn))
	fast := newReplica(t, 9, st)
	res, err := fast.MergeSnapshot(sn)
	if err != nil {
		t.Fatalf("seed %d: merge: %v", seed, err)
	}
	cfg := DefaultConfig(9, newReplica(t, 9, st).clk)
	cfg.Strategies = st
	restored, err := Restore(cfg, data)
	if err != nil {
		t.Fatalf("seed %d: restore: %v", seed, err)
	}
	if got := patchText(t, res.Patches); got != wantPatches {
		t.Fatalf("seed %d: patches differ:\n%s---\n%s", seed, got, wantPatches)
	}
	for name, d := range map[string]*Doc{"merge": fast.Doc, "restore": restored} {
		if got, w := dump(d), dump(want.Doc); got != w {
			t.Fatalf("seed %d: %s differs:\n%s\n--- want\n%s", seed, name, got, w)
		}
		if msg := consistency(d); msg != "" {
			t.Fatalf("seed %d: %s: %s", seed, name, msg)
		}
		if got, w := conflictDump(d), conflictDump(want.Doc); got != w {
			t.Fatalf("seed %d: %s conflicts differ:\n%s\n--- want\n%s", seed, name, got, w)
		}
		if !d.Version().Equal(want.Version()) {
			t.Fatalf("seed %d: %s version %v, want %v", seed, name, d.Version(), want.Version())
		}
		if !bytes.Equal(EncodeSnapshot(d.Snapshot()), data) {
			t.Fatalf("seed %d: %s re-encodes differently", seed, name)
		}
		// and the document goes on working: a local write
		if _, err := d.Update(randomRecipe(rng)); err != nil && !errors.Is(err, ErrPath) {
			t.Fatalf("seed %d: %s: update after restore: %v", seed, name, err)
		}
		if msg := consistency(d); msg != "" {
			t.Fatalf("seed %d: %s after update: %s", seed, name, msg)
		}
	}
}

// TestRestoreLargeMaps covers maps large enough to be rendered in key order
// (bulkKeys), at the root and nested, with conflicts, counters, deletions
// and a MultiValue register among their keys.
func TestRestoreLargeMaps(t *testing.T) {
	st := NewStrategies().MustSet("/c*", Count()).MustSet("/big/m*", Multi())
	a, b := newReplica(t, 1, st), newReplica(t, 2, st)
	a.update(t, func(d *draft.Draft) error {
		for i := range 2 * bulkKeys {
			if err := d.Set(draft.P(fmt.Sprintf("k%04d", i)), draft.Int(int64(i))); err != nil {
				return err
			}
		}
		big := map[string]draft.Value{}
		for i := range bulkKeys + 10 {
			big[fmt.Sprintf("m%04d", i)] = draft.String(fmt.Sprint(i))
		}
		if err := d.Set(draft.P("big"), draft.MapOf(big)); err != nil {
			return err
		}
		return d.Set(draft.P("c1"), draft.Int(5))
	})
	b.apply(t, a.ChangesSince(nil, 0)...)
	b.update(t, func(d *draft.Draft) error {
		for i := 0; i < 2*bulkKeys; i += 7 {
			if err := d.Set(draft.P(fmt.Sprintf("k%04d", i)), draft.Bool(true)); err != nil {
				return err
			}
		}
		if err := d.Increment(draft.P("c1"), draft.Int(3)); err != nil {
			return err
		}
		return d.Set(draft.P("big", "m0003"), draft.Null())
	})
	a.update(t, func(d *draft.Draft) error {
		for i := 0; i < 2*bulkKeys; i += 5 {
			if err := d.Delete(draft.P(fmt.Sprintf("k%04d", i))); err != nil {
				return err
			}
		}
		if err := d.Set(draft.P("big", "m0003"), draft.Int(3)); err != nil {
			return err
		}
		return d.Set(draft.P("big", "m0010"), draft.EmptyList())
	})
	a.apply(t, b.ChangesSince(nil, 0)...)
	b.apply(t, a.ChangesSince(nil, 0)...)
	rng := rand.New(rand.NewPCG(1, 2))
	checkRestore(t, 1, st, a, rng)
	checkRestore(t, 1, st, b, rng)
	// a large map below small ones
	c := newReplica(t, 3, st)
	c.update(t, func(d *draft.Draft) error {
		big := map[string]draft.Value{}
		for i := range bulkKeys + 1 {
			big[fmt.Sprintf("n%04d", i)] = draft.ListOf(draft.Int(int64(i)))
		}
		return d.Set(draft.P("outer"), draft.MapOf(map[string]draft.Value{"inner": draft.MapOf(big)}))
	})
	c.update(t, del("/outer/inner/n0007/0"))
	checkRestore(t, 1, st, c, rng)
}

func TestRestoreErrors(t *testing.T) {
	a := sampleDoc(t)
	data := EncodeSnapshot(a.Snapshot())
	cfg := DefaultConfig(5, newReplica(t, 5, nil).clk)
	if _, err := Restore(cfg, data[:len(data)-1]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated: %v", err)
	}
	if _, err := Restore(cfg, EncodeChange(sampleChanges()[0])); !errors.Is(err, ErrVersion) {
		t.Fatalf("a change: %v", err)
	}
	if _, err := Restore(Config{}, data); err == nil {
		t.Fatal("bad config accepted")
	}
	d, err := Restore(cfg, EncodeSnapshot(newReplica(t, 1, nil).Snapshot()))
	if err != nil || d.State().Len() != 0 || len(d.Version().Replicas()) != 0 {
		t.Fatalf("empty snapshot: %v", err)
	}
}

// TestRestoreOwnReplica: a replica restored from its own snapshot goes on
// numbering its ops after the snapshot's, and its clock (resumed from the
// persisted bound) stamps after the snapshot's newest write.
func TestRestoreOwnReplica(t *testing.T) {
	a := sampleDoc(t)
	data := EncodeSnapshot(a.Snapshot())
	last := a.clk.Last()
	clk, err := clock.New(clock.Config{Replica: a.Replica(), Physical: clock.NewManual(1_700_000_000_000), MaxDrift: time.Hour, Resume: last})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Restore(DefaultConfig(a.Replica(), clk), data)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Update(set("/z", draft.Int(1)))
	if err != nil {
		t.Fatal(err)
	}
	if want := a.Version()[a.Replica()] + 1; c.StartSeq != want {
		t.Fatalf("first op after restore has seq %d, want %d", c.StartSeq, want)
	}
	if !last.Less(c.Timestamp) {
		t.Fatalf("stamp %v not after the persisted bound %v", c.Timestamp, last)
	}
	// another replica that had the original's ops takes the new one
	b := newReplica(t, 11, NewStrategies().MustSet("/c", Count()))
	b.apply(t, a.ChangesSince(nil, 0)...)
	b.apply(t, c)
	if got, want := mustJSON(t, d.State()), b.json(t); got != want {
		t.Fatalf("restored replica %s, a peer after its change %s", got, want)
	}
}
